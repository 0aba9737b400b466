"""`/metrics` in the Prometheus text exposition format, from the loop's counters."""

from __future__ import annotations

from .detection import AnomalyType
from .loop import LoopStats


def render(stats: LoopStats, *, baselines: int, active: int) -> str:
    lines = [
        "# HELP aiops_analyzer_cycles_total Analysis cycles completed.",
        "# TYPE aiops_analyzer_cycles_total counter",
        f"aiops_analyzer_cycles_total {stats.cycles}",
        "# HELP aiops_analyzer_cycle_failures_total Analysis cycles that failed.",
        "# TYPE aiops_analyzer_cycle_failures_total counter",
        f"aiops_analyzer_cycle_failures_total {stats.failures}",
        "# HELP aiops_analyzer_cycle_seconds Duration of the last cycle.",
        "# TYPE aiops_analyzer_cycle_seconds gauge",
        f"aiops_analyzer_cycle_seconds {stats.last_cycle_seconds:.6f}",
        "# HELP aiops_analyzer_cycle_seconds_total Time spent in cycles.",
        "# TYPE aiops_analyzer_cycle_seconds_total counter",
        f"aiops_analyzer_cycle_seconds_total {stats.cycle_seconds_total:.6f}",
        "# HELP aiops_analyzer_rows_analysed_total Telemetry rows aggregated by cycles.",
        "# TYPE aiops_analyzer_rows_analysed_total counter",
        f"aiops_analyzer_rows_analysed_total {stats.rows_analysed}",
        "# HELP aiops_analyzer_anomalies_total Anomalies detected, by type.",
        "# TYPE aiops_analyzer_anomalies_total counter",
        *(
            f'aiops_analyzer_anomalies_total{{type="{kind}"}} {stats.anomalies_by_type[kind]}'
            for kind in AnomalyType
        ),
        "# HELP aiops_analyzer_baselines Series with a learned baseline.",
        "# TYPE aiops_analyzer_baselines gauge",
        f"aiops_analyzer_baselines {baselines}",
        "# HELP aiops_analyzer_active_anomalies Anomalies still active.",
        "# TYPE aiops_analyzer_active_anomalies gauge",
        f"aiops_analyzer_active_anomalies {active}",
    ]
    return "\n".join(lines) + "\n"
