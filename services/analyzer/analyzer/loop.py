"""The analyzer's schedule: a cycle every interval until stopped, and on demand."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import asyncpg

from .cycle import AnalysisState, CycleReport, Timing, run_cycle
from .detection import Anomaly, DetectionConfig

logger = logging.getLogger("analyzer.loop")


@dataclass
class LoopStats:
    """Counters for `/metrics` and `/health`."""

    cycles: int = 0
    failures: int = 0
    rows_analysed: int = 0
    last_cycle_seconds: float = 0.0
    cycle_seconds_total: float = 0.0
    anomalies_by_type: Counter[str] = field(default_factory=Counter)
    last_cycle_at: datetime | None = None
    last_error: str | None = None


class AnalysisLoop:
    """Owns the state between cycles; `run` until `stop` is set, `analyze_now` on demand."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        state: AnalysisState,
        config: DetectionConfig,
        timing: Timing,
        *,
        interval: float,
        active_for: float,
    ) -> None:
        self._pool = pool
        self.state = state
        self._config = config
        self._timing = timing
        self._interval = interval
        self._active_for = timedelta(seconds=active_for)
        self._lock = asyncio.Lock()  # one cycle at a time: windows must not overlap
        self._recent: deque[Anomaly] = deque(maxlen=1000)
        self.stats = LoopStats()

    def active_anomalies(self, now: datetime) -> list[Anomaly]:
        """Anomalies whose window ended within the last `active_for` seconds."""
        return [a for a in self._recent if now - a.window_end <= self._active_for]

    async def analyze_now(self) -> CycleReport | None:
        async with self._lock, self._pool.acquire() as conn:
            try:
                report = await run_cycle(
                    conn, self.state, self._config, self._timing, now=datetime.now(UTC)
                )
            except Exception as exc:
                self.stats.failures += 1
                self.stats.last_error = f"{type(exc).__name__}: {exc}"
                raise
            self.stats.last_error = None
        if report is not None:
            self._record(report)
        return report

    def _record(self, report: CycleReport) -> None:
        self.stats.cycles += 1
        self.stats.rows_analysed += report.rows
        self.stats.last_cycle_seconds = report.seconds
        self.stats.cycle_seconds_total += report.seconds
        self.stats.last_cycle_at = report.end
        for anomaly in report.anomalies:
            self.stats.anomalies_by_type[anomaly.type] += 1
            self._recent.append(anomaly)
            logger.warning("anomaly: %s", anomaly.explanation)

    async def run(self, stop: asyncio.Event) -> None:
        """A cycle every interval; a failed cycle (database away) is logged and retried."""
        while not stop.is_set():
            try:
                await self.analyze_now()
            except Exception:  # the loop must outlive its database
                logger.exception("analysis cycle failed; retrying next interval")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._interval)
