"""One analysis cycle: read the next window, detect, find root causes, learn, persist.

Thin on purpose: all judgement lives in the engine (`aiops_engine`, pure
functions; `aiops_engine.step` is the window step `aiops replay` runs too);
this module only chooses the window, moves data between PostgreSQL and
those functions, and keeps the state that carries from one cycle to the next.
Metric series are judged alongside (`metric_cycle`), among them the shop's business
metrics of this very window's spans; their anomalies join the window's before root
causes are sought.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from aiops_engine.detection import (
    Anomaly,
    Baseline,
    DetectionConfig,
    SeriesKey,
    WindowStats,
    count_bars,
)
from aiops_engine.metrics import MetricConfig
from aiops_engine.rca import DependencyGraph, Finding, RcaConfig
from aiops_engine.step import SAMPLE_TRACES, conclude_window, judge_window, traces_to_follow
from aiops_telemetry import Connection

from . import metric_cycle, store
from .leader import Fence, claim_fence
from .metric_cycle import MetricMemory, MetricOutcome, MetricWatch


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
    """What one cycle hands the next: baselines, the dependency graph, the last window's end,
    and the metric series' states."""

    baselines: dict[SeriesKey, Baseline] = field(default_factory=dict)
    graph: DependencyGraph = field(default_factory=DependencyGraph)
    last_end: datetime | None = None
    metrics: MetricMemory = field(default_factory=MetricMemory)


@dataclass(frozen=True, slots=True)
class CycleReport:
    start: datetime
    end: datetime
    windows: tuple[WindowStats, ...]
    anomalies: tuple[Anomaly, ...]
    findings: tuple[Finding, ...]
    seconds: float  # wall time the cycle took
    skipped: Mapping[SeriesKey, str] = field(default_factory=dict)  # keys not judged, and why
    metrics: MetricOutcome | None = None  # the metric window, if one was judged

    @property
    def rows(self) -> int:
        return sum(window.count for window in self.windows)

    @property
    def new_normals(self) -> Mapping[str, datetime]:
        """Metric series that took a new normal this cycle, and since when."""
        return self.metrics.new_normals if self.metrics else {}


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
    # A last end far off either way (long downtime, another clock) is forgotten.
    if last_end is not None and abs(end - last_end) <= timedelta(seconds=timing.max_catch_up_s):
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
    rca: RcaConfig = RcaConfig(),  # frozen, so one shared default is safe
    fence: Fence | None = None,
    metric_watch: MetricWatch = MetricWatch(),
) -> CycleReport | None:
    """Analyse the next window; persist what was learned and found; advance `state`.

    Under a `fence` older than a token that has written since, raises
    FencedOut having written nothing and left `state` as it was.
    """
    bounds = next_window(state.last_end, now, timing)
    if bounds is None:
        return None
    start, end = bounds
    began = time.perf_counter()
    windows = await store.windows.window_stats(
        conn,
        start=start,
        end=end,
        sample_traces=SAMPLE_TRACES,
        bars=count_bars(state.baselines, config),
    )
    judged = judge_window(windows, state.baselines, config, now=end)
    # The business metrics of this very window, judged with its spans' anomalies (they
    # explain each other); a window of a handful of checkouts gives none.
    sales = await store.business.business_points(conn, start, end, min_attempts=config.min_samples)
    metrics = await metric_cycle.judge_metrics(
        conn, state.metrics, metric_watch, now=now, business_points=sales
    )
    anomalies = [*judged.anomalies, *(metrics.anomalies if metrics else ())]
    observed = await store.traces.window_dependencies(conn, start=start, end=end)
    traces = await store.traces.trace_spans(conn, traces_to_follow(anomalies)) if anomalies else {}
    outcome = conclude_window(
        windows,
        anomalies,
        observed,
        traces,
        baselines=state.baselines,
        graph=state.graph,
        config=config,
        rca=rca,
    )
    learned = outcome.baselines
    changed = {key: b for key, b in learned.items() if state.baselines.get(key) != b}
    async with conn.transaction():
        if fence is not None:
            await claim_fence(conn, fence)
        await store.baselines.save_baselines(conn, changed, config)
        await store.seasons.save_hours(conn, learned, state.baselines, config)
        await store.anomalies.save_anomalies(conn, anomalies, detected_at=now)
        await store.traces.save_dependencies(conn, observed)
        await store.windows.save_progress(conn, end)
        if metrics is not None:
            await metric_cycle.save_metrics(conn, state.metrics, metrics)
    if metrics is not None:
        metric_cycle.advance(state.metrics, metrics)
    state.baselines = learned
    state.graph = outcome.graph
    state.last_end = end
    return CycleReport(
        start=start,
        end=end,
        windows=tuple(windows),
        anomalies=tuple(anomalies),
        findings=outcome.findings,
        seconds=time.perf_counter() - began,
        skipped={**judged.skipped, **outcome.skipped, **(metrics.skipped if metrics else {})},
        metrics=metrics,
    )


async def restore_state(
    conn: Connection,
    config: DetectionConfig = DetectionConfig(),
    metric_config: MetricConfig = MetricConfig(),
) -> AnalysisState:
    """State after a restart or a change of leader: what was persisted, nothing relearned.

    Windows resume where the last analysed one ended, so a standby taking
    over neither rereads nor skips the leader's windows (within `max_catch_up_s`).
    """
    last_end = await store.windows.load_progress(conn)
    baselines = await store.baselines.load_baselines(conn)
    if baselines:
        seasons = await store.seasons.load_seasons(conn, config)
        baselines = {
            key: dataclasses.replace(b, season=seasons[key]) if key in seasons else b
            for key, b in baselines.items()
        }
    return AnalysisState(
        baselines=baselines,
        graph=await store.traces.load_dependencies(conn),
        last_end=last_end,
        metrics=await metric_cycle.restore_metrics(conn, metric_config),
    )
