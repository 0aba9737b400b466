"""`/metrics` in the Prometheus text exposition format, from the loop's and desk's counters."""

from __future__ import annotations

from aiops_engine.detection import AnomalyType

from .housekeeping import Housekeeper
from .incidents import IncidentDesk
from .loop import AnalysisLoop


def _metric(name: str, kind: str, help_text: str, *samples: str) -> list[str]:
    return [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}", *samples]


def _label(value: str) -> str:
    """A label value as the exposition format escapes it."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render(loop: AnalysisLoop, desk: IncidentDesk, housekeeper: Housekeeper) -> str:
    stats, incidents, kept = loop.stats, desk.stats, housekeeper.stats
    baselines = len(loop.state.baselines) if loop.state else 0
    series = len(loop.state.metrics.states) if loop.state else 0
    lines = [
        *_metric(
            "aiops_analyzer_cycles_total", "counter", "Analysis cycles completed.",
            f"aiops_analyzer_cycles_total {stats.cycles}",
        ),
        *_metric(
            "aiops_analyzer_cycle_failures_total", "counter", "Analysis cycles that failed.",
            f"aiops_analyzer_cycle_failures_total {stats.failures}",
        ),
        *_metric(
            "aiops_analyzer_cycle_seconds", "gauge", "Duration of the last cycle.",
            f"aiops_analyzer_cycle_seconds {stats.last_cycle_seconds:.6f}",
        ),
        *_metric(
            "aiops_analyzer_cycle_seconds_total", "counter", "Time spent in cycles.",
            f"aiops_analyzer_cycle_seconds_total {stats.cycle_seconds_total:.6f}",
        ),
        *_metric(
            "aiops_analyzer_rows_analysed_total", "counter", "Telemetry rows aggregated by cycles.",
            f"aiops_analyzer_rows_analysed_total {stats.rows_analysed}",
        ),
        *_metric(
            "aiops_analyzer_anomalies_total", "counter", "Anomalies detected, by type.",
            *(
                f'aiops_analyzer_anomalies_total{{type="{kind}"}} {stats.anomalies_by_type[kind]}'
                for kind in AnomalyType
            ),
        ),
        *_metric(
            "aiops_analyzer_findings_total", "counter", "Root causes found (one per problem).",
            f"aiops_analyzer_findings_total {stats.findings}",
        ),
        *_metric(
            "aiops_analyzer_keys_skipped_total", "counter",
            "Series a cycle could not judge (logged with the reason); the others were judged.",
            f"aiops_analyzer_keys_skipped_total {stats.keys_skipped}",
        ),
        *_metric(
            "aiops_analyzer_metric_points_judged_total", "counter",
            "Metric points judged (OTLP metrics and business metrics).",
            f"aiops_analyzer_metric_points_judged_total {stats.metric_points_judged}",
        ),
        *_metric(
            "aiops_analyzer_metric_points_refused_total", "counter",
            "Metric points not judged, by reason (not a finite number, out of order).",
            *(
                f'aiops_analyzer_metric_points_refused_total{{reason="{_label(reason)}"}} {n}'
                for reason, n in sorted(stats.metric_points_refused.items())
            ),
        ),
        *_metric(
            "aiops_analyzer_metric_series", "gauge", "Metric series watched (leader only).",
            f"aiops_analyzer_metric_series {series}",
        ),
        *_metric(
            "aiops_analyzer_baselines", "gauge", "Series with a learned baseline (leader only).",
            f"aiops_analyzer_baselines {baselines}",
        ),
        *_metric(
            "aiops_analyzer_leader", "gauge", "1 while this replica leads.",
            f"aiops_analyzer_leader {int(loop.leading)}",
        ),
        *_metric(
            "aiops_analyzer_fenced_writes_total", "counter",
            "Writes refused because a newer leader had taken over (this replica stalled).",
            f"aiops_analyzer_fenced_writes_total {stats.fenced_writes}",
        ),
        *_metric(
            "aiops_analyzer_incidents_opened_total", "counter", "Incidents this replica opened.",
            f"aiops_analyzer_incidents_opened_total {incidents.opened}",
        ),
        *_metric(
            "aiops_analyzer_redis_up", "gauge", "0 while Redis is unreachable.",
            f"aiops_analyzer_redis_up {int(incidents.redis_error is None)}",
        ),
        *_metric(
            "aiops_analyzer_pending_findings", "gauge", "Findings waiting for Redis.",
            f"aiops_analyzer_pending_findings {incidents.pending_findings}",
        ),
        *_metric(
            "aiops_analyzer_dropped_findings_total", "counter",
            "Findings lost to a full queue during a Redis outage.",
            f"aiops_analyzer_dropped_findings_total {incidents.dropped_findings}",
        ),
        *_metric(
            "aiops_analyzer_minutes_rolled_up_total", "counter",
            "Minutes of telemetry this replica rolled up into telemetry_minutes.",
            f"aiops_analyzer_minutes_rolled_up_total {kept.minutes_rolled_up}",
        ),
        *_metric(
            "aiops_analyzer_partitions_created_total", "counter",
            "Day partitions this replica created ahead (telemetry and rollups).",
            f"aiops_analyzer_partitions_created_total {kept.partitions_created}",
        ),
        *_metric(
            "aiops_analyzer_partitions_dropped_total", "counter",
            "Day partitions this replica dropped past retention.",
            f"aiops_analyzer_partitions_dropped_total {kept.partitions_dropped}",
        ),
        *_metric(
            "aiops_analyzer_evidence_spans_kept_total", "counter",
            "Spans of cited traces copied to telemetry_evidence before their day was dropped.",
            f"aiops_analyzer_evidence_spans_kept_total {kept.evidence_spans_kept}",
        ),
        *_metric(
            "aiops_analyzer_housekeeping_failures_total", "counter",
            "Housekeeping rounds that failed (logged; retried the next round).",
            f"aiops_analyzer_housekeeping_failures_total {kept.failures}",
        ),
    ]  # fmt: skip
    return "\n".join(lines) + "\n"
