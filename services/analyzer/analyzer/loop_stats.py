"""What each cycle adds to `/metrics` and `/health` (`LoopStats`), and its lines in the log."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from aiops_engine.incidents.model import EventKind, IncidentEvent

from .cycle import CycleReport

# The loop's logger: operators filter on it, whichever module writes the line.
logger = logging.getLogger("analyzer.loop")

# How the cycle line counts an incident event (one incident counts once per column).
_CHANGES = {
    EventKind.OPENED: "opened",
    EventKind.REOPENED: "opened",
    EventKind.UPDATED: "updated",
    EventKind.SEVERITY_CHANGED: "updated",
    EventKind.ROOT_CAUSE_CHANGED: "updated",
    EventKind.ACKNOWLEDGED: "updated",
    EventKind.RESOLVED: "resolved",
}


@dataclass
class LoopStats:
    """Counters for `/metrics` and `/health`."""

    cycles: int = 0
    failures: int = 0
    rows_analysed: int = 0
    last_cycle_seconds: float = 0.0
    cycle_seconds_total: float = 0.0
    anomalies_by_type: Counter[str] = field(default_factory=Counter)
    findings: int = 0
    keys_skipped: int = 0  # a key whose window could not be judged; the others were
    last_cycle_at: datetime | None = None
    last_error: str | None = None
    fenced_writes: int = 0  # writes refused because a newer leader had taken over
    metric_points_judged: int = 0
    metric_points_refused: Counter[str] = field(default_factory=Counter)  # reason -> points

    def record(self, report: CycleReport) -> None:
        """Count a cycle that ran, and log what it found and what it could not judge."""
        self.cycles += 1
        self.rows_analysed += report.rows
        self.last_cycle_seconds = report.seconds
        self.cycle_seconds_total += report.seconds
        self.last_cycle_at = report.end
        self.findings += len(report.findings)
        for anomaly in report.anomalies:
            self.anomalies_by_type[anomaly.type] += 1
            logger.warning("anomaly: %s", anomaly.explanation)
        for finding in report.findings:
            logger.warning("root cause %s: %s", finding.root_cause, finding.explanation)
        if report.metrics is not None:
            judged = report.metrics.watched
            self.metric_points_judged += sum(j.refused is None for j in judged.judgements)
            self.metric_points_refused.update(judged.refused)
        for series, since in report.new_normals.items():
            logger.warning("%s: new normal since %s", series, since.isoformat())
        self.keys_skipped += len(report.skipped)
        for key, reason in report.skipped.items():
            logger.error("%s not judged this cycle (%s); every other key was", key, reason)


def log_cycle(report: CycleReport, events: Sequence[IncidentEvent], *, milliseconds: float) -> None:
    """The cycle's one INFO line: its window, what it read and found, and what it changed."""
    incidents = {
        change: len({e.incident.id for e in events if _CHANGES[e.kind] == change})
        for change in ("opened", "updated", "resolved")
    }
    fields = {
        "window_start": report.start.isoformat(),
        "window_end": report.end.isoformat(),
        "rows": report.rows,
        "keys": len(report.windows),
        "anomalies": len(report.anomalies),
        "incidents_opened": incidents["opened"],
        "incidents_updated": incidents["updated"],
        "incidents_resolved": incidents["resolved"],
        "milliseconds": round(milliseconds, 1),
    }
    logger.info(
        "cycle %s..%s: %d rows, %d keys, %d anomalies; incidents %d opened, %d updated, "
        "%d resolved; %.0f ms",
        report.start.strftime("%H:%M:%S"),
        report.end.strftime("%H:%M:%S"),
        report.rows,
        len(report.windows),
        len(report.anomalies),
        incidents["opened"],
        incidents["updated"],
        incidents["resolved"],
        milliseconds,
        extra=fields,
    )
