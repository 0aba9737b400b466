"""N. Analyzer cycle time vs metric series (BENCH_METRIC_SERIES, 1,000 and 10,000).

Per size N and history (1 day: warm-up just done; 14 days: a season of hours), N series
hold a state with that history (bench.metric_history) in memory, as the analyzer holds
them between cycles, and in its tables, as it wrote them; each 5 s window holds one gauge
point a series in `metric_points`. The real `analyzer.cycle.run_cycle` (its metric half,
`analyzer.metric_cycle`, reads the points, judges them with `aiops_engine.metrics.watch`
and writes states, hours and judgements) runs WARM untimed cycles, then
BENCH_CYCLE_ROUNDS timed ones, the middle one closing an hour of every series as a live
cycle does once an hour. asyncpg's query logger times each statement; the rest is Python.
The spans' half reads an empty `telemetry`: what is timed is the metric series' cost.

Flat in history: 14 days against 1. Memory: tracemalloc while the 14-day states are built.
At the largest size, one more cycle under cProfile, and a new leader's restore, timed.
"""

from __future__ import annotations

import asyncio
import cProfile
import gc
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta

import asyncpg
from asyncpg.connection import LoggedQuery

from aiops_engine.detection import DetectionConfig
from aiops_engine.metrics import MetricConfig, MetricState
from aiops_telemetry import apply_migrations
from analyzer.cycle import AnalysisState, Timing, run_cycle
from analyzer.metric_cycle import MetricMemory, MetricWatch
from analyzer.store import SESSION_SETTINGS

from . import metric_history as history
from .cycle_profile import profile_lines
from .fleet import Context
from .ingest_sustained import OTHER_CORES, machine_cpu
from .report import Check, Goal, Section, count, p95

HISTORIES = (1, 14)  # days: a series just past its warm-up, and one with two weeks of hours
WARM = 2  # untimed cycles first: plans cached, statements prepared
GOAL_MS = 1000.0  # at the largest size, 14 days (K's goal)
GOAL_RATIO = 1.2  # 14 days / 1 day: flat in history
SAMPLE = 20  # series a restore is checked on (all are restored)
TABLES = (
    "metric_points, telemetry, analyzer_metric_states, analyzer_metric_hours, "
    "analyzer_metric_judgements, analyzer_metric_accepts, analyzer_baselines, "
    "analyzer_season_hours, analyzer_anomalies, analyzer_dependencies, analyzer_progress"
)
# Words that name each statement of a cycle; any other is named by its first word.
_STATEMENTS = (
    ("FROM metric_points", "read_points"),
    ("INTO analyzer_metric_states", "save_states"),
    ("INTO analyzer_metric_hours", "save_hours"),
    ("INTO analyzer_metric_judgements", "save_judgements"),
    ("analyzer_metric_accepts", "accepts"),
    ("metrics_end", "save_cursor"),
    ("telemetry", "span_reads"),  # the spans' window, dependencies, business metrics
    ("analyzer_", "span_saves"),
)
PROFILED = ("judge_metrics", "save_metrics", "watch", "points_between", "save_states",
            "save_judgements", "judge", "fold", "state_to_json")  # fmt: skip
JUDGED_AFTER = (1, 2, 4, 8, 14)  # days: the daily fit starts on day 2, the weekly on day 8


@dataclass(slots=True)
class Case:
    series: int
    days: int
    ms: list[float] = field(default_factory=list)  # wall time of each timed cycle
    sql: list[dict[str, float]] = field(default_factory=list)  # ms per statement, per cycle
    python_ms: list[float] = field(default_factory=list)  # this process's CPU per cycle
    postgres_ms: list[float] = field(default_factory=list)
    other: list[float] = field(default_factory=list)  # cores busy with neither, per cycle
    judged: list[int] = field(default_factory=list)  # points judged, per timed cycle
    anomalies: list[int] = field(default_factory=list)
    skipped: int = 0
    hour_ms: float = 0.0  # the timed cycle that ended an hour
    hour_sql: dict[str, float] = field(default_factory=dict)  # its ms per statement
    hours: int = 0  # rows in analyzer_metric_hours before the first cycle
    load_s: float = 0.0
    bytes: int = 0  # the states, as tracemalloc saw them built (14 days only)
    restore_s: float = 0.0  # restore_metrics of the states the last cycle wrote (largest)
    restored_alike: int = -1  # of SAMPLE series, judging the next point as in memory
    profile: list[str] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.ms)

    @property
    def sql_ms(self) -> float:
        return statistics.median(sum(cycle.values()) for cycle in self.sql)

    def statement(self, name: str) -> float:
        return statistics.median(cycle.get(name, 0.0) for cycle in self.sql)

    def cells(self) -> list[str]:
        median = statistics.median
        ms = (self.median, p95(self.ms), self.hour_ms, self.median * 1000 / self.series,
              self.sql_ms, median(self.python_ms), median(self.postgres_ms))  # fmt: skip
        return [count(self.series), f"{self.days} d", count(self.hours),
                *(f"{v:.1f}" for v in ms), f"{statistics.mean(self.anomalies):.1f}"]  # fmt: skip


def _label(query: str) -> str:
    return next((name for words, name in _STATEMENTS if words in query), query.split()[0])


def _timeline(rounds: int) -> datetime:
    """The first window's start: the timed cycles straddle the start of the current hour."""
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    return hour - timedelta(seconds=5 * (WARM + rounds // 2))


async def _case(
    ctx: Context,
    conn: asyncpg.Connection,
    proto: MetricState,
    case: Case,
    start: datetime,
    profile: bool,
) -> dict[str, MetricState]:
    """Load the case's states, hours and points; run and time its cycles (and profile one
    more); the states after them."""
    rounds, timing = ctx.config.cycle_rounds, Timing()
    windows = WARM + rounds + int(profile)
    print(f"N: {count(case.series)} series, {case.days} d", file=sys.stderr, flush=True)
    await conn.execute(f"TRUNCATE {TABLES}")
    began = time.perf_counter()
    held, owners, case.bytes = await history.load(conn, proto, case.series, start, windows)
    case.hours = await conn.fetchval("SELECT count(*) FROM analyzer_metric_hours")
    case.load_s = time.perf_counter() - began

    config = DetectionConfig(window_seconds=timing.window_s)
    state = AnalysisState(metrics=MetricMemory(held, owners, end=start))
    logged, lateness = list[LoggedQuery](), timedelta(seconds=MetricWatch().lateness_s)
    conn.add_query_logger(logged.append)
    try:
        for w in range(windows):
            now = start + timedelta(seconds=5 * (w + 1)) + lateness
            profiler = cProfile.Profile() if profile and w == windows - 1 else None
            logged.clear()
            busy, pg = machine_cpu()["busy"], ctx.postgres_cpu()
            cpu, began = time.process_time(), time.perf_counter()
            if profiler:
                profiler.enable()
            report = await run_cycle(conn, state, config, timing, now=now)
            wall = (time.perf_counter() - began) * 1000
            if profiler:
                profiler.disable()
                case.profile = [f"one cycle under cProfile: {wall:.0f} ms",
                                *profile_lines(profiler, named=PROFILED)]  # fmt: skip
                break
            cpu, pg = (time.process_time() - cpu) * 1000, (ctx.postgres_cpu() - pg) * 1000
            busy = (machine_cpu()["busy"] - busy) * 1000
            await asyncio.sleep(0)  # asyncpg calls the logger soon after each statement
            if report is None or report.metrics is None:
                raise RuntimeError(f"cycle {w} found no metric window to judge")
            if w < WARM:
                continue
            by_statement: dict[str, float] = defaultdict(float)
            for query in logged:
                by_statement[_label(query.query)] += query.elapsed * 1000
            if w == WARM + rounds // 2:
                case.hour_ms, case.hour_sql = wall, dict(by_statement)
            case.sql.append(dict(by_statement))
            case.ms.append(wall)
            case.python_ms.append(cpu)
            case.postgres_ms.append(pg)
            case.other.append(max(0.0, busy - pg - cpu) / wall)
            case.judged.append(len(report.metrics.watched.judgements))
            case.anomalies.append(len(report.metrics.anomalies))
            case.skipped += len(report.metrics.skipped)
    finally:
        conn.remove_query_logger(logged.append)
    return state.metrics.states


async def _measure(ctx: Context) -> list[Case]:
    conn: asyncpg.Connection = await asyncpg.connect(
        ctx.db.dsn, timeout=60, server_settings=SESSION_SETTINGS
    )
    try:
        await apply_migrations(conn, component="analyzer", package="analyzer")
        start = _timeline(ctx.config.cycle_rounds)
        protos = {days: history.prototype(days, start, MetricConfig()) for days in HISTORIES}
        largest, cases = max(ctx.config.metric_series), []
        for n in ctx.config.metric_series:
            for days in HISTORIES:
                case = Case(n, days)
                last = n == largest and days == HISTORIES[-1]
                held = await _case(ctx, conn, protos[days], case, start, profile=last)
                if last:
                    began = time.perf_counter()
                    case.restored_alike = await history.restored_alike(
                        conn, held, history.fleet(n), SAMPLE
                    )
                    case.restore_s = time.perf_counter() - began
                del held
                gc.collect()
                cases.append(case)
        await conn.execute(f"TRUNCATE {TABLES}")  # leave the next section empty tables
        return cases
    finally:
        await conn.close()


def _short(n: int) -> str:
    return f"{n // 1000}k" if n % 1000 == 0 else str(n)


def run(ctx: Context) -> Section:
    rounds = ctx.config.cycle_rounds
    section = Section("N", "Analyzer cycle time vs metric series: one point a series a cycle")
    cases = asyncio.run(_measure(ctx))
    config, end = MetricConfig(), _timeline(rounds)
    judge_us = {days: history.judge_us(days, end, config) for days in JUDGED_AFTER}
    by = {(c.series, c.days): c for c in cases}
    sizes = sorted({c.series for c in cases})
    fresh, old = HISTORIES
    big, big_fresh = by[sizes[-1], old], by[sizes[-1], fresh]
    ratio = {n: by[n, old].median / by[n, fresh].median for n in sizes}
    python = big.median - big.sql_ms
    names = sorted({n for cycle in big.sql for n in cycle}, key=lambda n: -big.statement(n))
    per_series = {n: by[n, old].bytes / n for n in sizes}
    section.headers = ["series", "history", "hour rows", "median ms", "p95 ms", "hour-end ms",
                       "ms per 1k series", "SQL ms", "Python CPU ms", "PG CPU ms",
                       "anomalies"]  # fmt: skip
    section.rows = [c.cells() for c in cases]
    section.notes += [
        f"per size and history: every series' state built ({history.EXPORT.seconds} s points "
        f"judged by the engine for one prototype, copied per series) and written as the "
        f"analyzer writes it; then {WARM} untimed and {rounds} timed cycles of consecutive 5 s "
        "windows, one gauge point a series in each; the hour ends at the middle timed cycle "
        "(hour-end ms), which closes an hour of every series",
        "history 14 d / 1 d (median): "
        + ", ".join(f"{_short(n)} series {ratio[n]:.3f}" for n in sizes),
        f"where a cycle's {big.median:.0f} ms go at {count(big.series)} series, 14 d (medians): "
        + ", ".join(f"{n} {big.statement(n):.0f}" for n in names if big.statement(n) >= 1)
        + f" ms of SQL; the rest, {python:.0f} ms ({python / big.median:.0%}), is Python",
        "the engine's judge of one point after "
        + ", ".join(f"{days} d {us:.1f}" for days, us in judge_us.items())
        + " µs (best of 5 x 2,000; the daily fit learns from day 2, the weekly from day 8)",
        f"the cycle that ended an hour at {count(big.series)} series, 14 d: {big.hour_ms:.0f} ms"
        f", {sum(big.hour_sql.values()):.0f} ms of it SQL (save_hours "
        f"{big.hour_sql.get('save_hours', 0.0):.0f} ms)",
        "states in memory, 14 d (tracemalloc while built): "
        + ", ".join(f"{per_series[n] / 1024:.1f} KiB a series at {count(n)}" for n in sizes)
        + f"; {big.bytes / 2**20:.0f} MiB at {count(big.series)} series",
        f"restore at {count(big.series)} series, 14 d (a new leader's restore_metrics): "
        f"{big.restore_s:.1f} s; restored states judge the next point as those in memory: "
        f"{big.restored_alike}/{SAMPLE}",
        f"load at {count(big.series)} series, 14 d: states, {count(big.hours)} hours and the "
        f"windows' points in {big.load_s:.1f} s; judgements start empty (only the cycles' own)",
        *big.profile,
    ]
    section.goals += [
        Goal(f"median_ms_at_{_short(big.series)}_series_14d", big.median, GOAL_MS, at_most=True),
        Goal(f"median_14d/1d_at_{_short(big.series)}_series", ratio[sizes[-1]], GOAL_RATIO,
             at_most=True),
    ]  # fmt: skip
    section.checks += [
        Check(
            "every_series_judged",
            all(set(c.judged) == {c.series} and not c.skipped for c in cases),
            f"points judged each timed cycle, per case: {[sorted(set(c.judged)) for c in cases]}"
            f", series skipped: {[c.skipped for c in cases]}",
        ),
        Check(
            "history_as_built",
            all(by[n, old].hours >= n * (old - 1) * 24 > by[n, fresh].hours for n in sizes),
            f"hour rows before the first cycle, per case: {[c.hours for c in cases]}",
        ),
        Check(
            "machine_quiet",
            all(statistics.median(c.other) <= OTHER_CORES for c in cases),
            "cores busy with neither PostgreSQL nor the analyzer, per case (median): "
            f"{[round(statistics.median(c.other), 2) for c in cases]}",
        ),
    ]
    section.summary = (
        f"median **{big.median:.0f} ms** at {count(big.series)} series with 14 days of history "
        f"(p95 {p95(big.ms):.0f} ms; SQL {big.sql_ms:.0f} ms, Python {python:.0f} ms) vs "
        f"{big_fresh.median:.0f} ms with 1 day: 14 d / 1 d **{ratio[sizes[-1]]:.2f}**; states "
        f"{per_series[sizes[-1]] / 1024:.1f} KiB a series ({big.bytes / 2**20:.0f} MiB)"
    )
    section.data = {
        "rounds": rounds,
        "histories_days": list(HISTORIES),
        "ratio_14d_1d": {str(n): ratio[n] for n in sizes},
        "judge_us_after_days": {str(days): us for days, us in judge_us.items()},
        "cases": [{"median_ms": c.median, "sql_ms": c.sql_ms, **asdict(c)} for c in cases],
    }
    return section
