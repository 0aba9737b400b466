"""One analysis cycle: read the next window, detect, learn, persist. Thin on purpose.

All judgement lives in `analyzer.detection` (pure functions); this module
only chooses the window, moves data between PostgreSQL and those functions,
and keeps the state that carries from one cycle to the next.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from aiops_telemetry import Connection

from . import storage
from .detection import Anomaly, Baseline, DetectionConfig, SeriesKey, WindowStats, detect, learn


@dataclass(frozen=True, slots=True)
class Timing:
    """How windows are cut from the telemetry stream."""

    window_s: float = 5.0
    # A span's row lands after its request ends and the sink flushes: windows
    # stop this far behind now, so a slow request is counted in its own window.
    ingest_lag_s: float = 3.0
    # After downtime, resume from recent telemetry rather than replaying it all.
    max_catch_up_s: float = 60.0


@dataclass
class AnalysisState:
    """What one cycle hands the next: the baselines, and where the last window ended."""

    baselines: dict[SeriesKey, Baseline] = field(default_factory=dict)
    last_end: datetime | None = None


@dataclass(frozen=True, slots=True)
class CycleReport:
    start: datetime
    end: datetime
    windows: tuple[WindowStats, ...]
    anomalies: tuple[Anomaly, ...]
    seconds: float  # wall time the cycle took

    @property
    def rows(self) -> int:
        return sum(window.count for window in self.windows)


def next_window(
    last_end: datetime | None, now: datetime, timing: Timing
) -> tuple[datetime, datetime] | None:
    """The next tumbling window `[start, end)`, or None when too little time has passed.

    Windows never overlap (learning a request twice would skew baselines)
    and follow on from the last one, so a late cycle reads a longer window
    instead of skipping telemetry — unless the gap exceeds `max_catch_up_s`.
    """
    end = now - timedelta(seconds=timing.ingest_lag_s)
    start = end - timedelta(seconds=timing.window_s)
    if last_end is not None and end - last_end <= timedelta(seconds=timing.max_catch_up_s):
        start = last_end
    if (end - start).total_seconds() < timing.window_s / 2:
        return None
    return start, end


async def run_cycle(
    conn: Connection,
    state: AnalysisState,
    config: DetectionConfig,
    timing: Timing,
    *,
    now: datetime,
) -> CycleReport | None:
    """Analyse the next window; persist what was learned and found; advance `state`."""
    bounds = next_window(state.last_end, now, timing)
    if bounds is None:
        return None
    start, end = bounds
    began = time.perf_counter()
    windows = await storage.window_stats(conn, start=start, end=end)
    anomalies = detect(windows, state.baselines, config, now=end)
    learned = learn(state.baselines, windows, anomalies, config)
    changed = {key: b for key, b in learned.items() if state.baselines.get(key) != b}
    async with conn.transaction():
        await storage.save_baselines(conn, changed)
        await storage.save_anomalies(conn, anomalies, detected_at=now)
    state.baselines = learned
    state.last_end = end
    return CycleReport(
        start=start,
        end=end,
        windows=tuple(windows),
        anomalies=tuple(anomalies),
        seconds=time.perf_counter() - began,
    )


async def restore_state(conn: Connection) -> AnalysisState:
    """State after a restart: the persisted baselines at once, nothing relearned."""
    return AnalysisState(baselines=await storage.load_baselines(conn))
