"""K. Analyzer cycle time vs the number of keys (BENCH_CYCLE_KEYS, 1,000 to 10,000).

Keys come ENDPOINTS to a service: each service serves ENDPOINTS - 1 endpoints
(server spans) and calls the next service of a ring (one edge: a client span
whose child is that service's `/r1` server span). Every key has SPANS spans in
each 5 s window, so a window holds keys x SPANS rows and every key is judged.

Per size: an empty table, then the real `analyzer.cycle.run_cycle` on
consecutive windows from a fresh AnalysisState: `min_windows` untimed cycles,
after which every baseline is established (a warm analyzer), then
BENCH_CYCLE_ROUNDS timed ones. asyncpg's query logger times each statement
(sent, run, answered, decoded), so the rest of a cycle is Python: the
engine's judging and learning and the storage module's row handling. At the
largest size one more cycle runs under cProfile to say which Python it is.
"""

from __future__ import annotations

import asyncio
import cProfile
import random
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta

import asyncpg
from asyncpg.connection import LoggedQuery

from aiops_engine.detection import DetectionConfig, is_established
from aiops_telemetry import CLIENT, COLUMNS, SERVER, SpanRow, apply_migrations, span_row
from analyzer.cycle import AnalysisState, Timing, run_cycle
from analyzer.store import SESSION_SETTINGS

from .cycle_profile import profile_lines
from .fleet import Context
from .ingest_sustained import OTHER_CORES, machine_cpu
from .report import Check, Goal, Section, count, p95, ratio

ENDPOINTS = 5  # keys per service: 4 endpoints and the edge to the next service
SPANS = 6  # per key and window: min_samples (5) and one more, so every window is judged
ERROR_RATE = 0.005
# Warm-up cycles beyond min_windows, for the keys that had a window held back (improbable
# alone, so not learned), which happens to a few percent of keys in 10 windows.
WARM_EXTRA = 2
WARM_SHARE = 0.99  # of baselines established before the first timed cycle
GOAL_MS = 1000.0
TABLES = (
    "telemetry, analyzer_baselines, analyzer_anomalies, analyzer_season_hours, "
    "analyzer_dependencies, analyzer_progress"
)
# Words that name each of run_cycle's statements; any other is named by its first word.
_STATEMENTS = (
    ("WITH spans AS", "window_stats"),
    ("WITH calls AS", "window_dependencies"),
    ("trace_id = ANY", "trace_spans"),
    ("analyzer_baselines", "save_baselines"),
    ("analyzer_season_hours", "save_hours"),
    ("analyzer_anomalies", "save_anomalies"),
    ("analyzer_dependencies", "save_dependencies"),
    ("analyzer_progress", "save_progress"),
)


@dataclass(slots=True)
class Size:
    keys: int
    ms: list[float] = field(default_factory=list)  # wall time of each timed cycle
    sql: list[dict[str, float]] = field(default_factory=list)  # ms per statement, per cycle
    postgres_ms: list[float] = field(default_factory=list)  # the cluster's CPU per cycle
    python_ms: list[float] = field(default_factory=list)  # this process's CPU per cycle
    other: list[float] = field(default_factory=list)  # cores busy with neither, per cycle
    judged: list[int] = field(default_factory=list)  # keys each timed cycle read
    rows: list[int] = field(default_factory=list)
    anomalies: list[int] = field(default_factory=list)
    skipped: int = 0  # keys a cycle could not judge
    established: int = 0  # baselines established before the first timed cycle
    load_s: float = 0.0
    loaded: int = 0  # rows
    profile: list[str] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.ms)

    @property
    def p95(self) -> float:
        return p95(self.ms)

    def statement(self, name: str) -> float:
        return statistics.median(cycle.get(name, 0.0) for cycle in self.sql)

    @property
    def sql_ms(self) -> float:
        return statistics.median(sum(cycle.values()) for cycle in self.sql)

    def cells(self) -> list[str]:
        median = statistics.median
        ms = (self.median, self.p95, self.median * 1000 / self.keys, self.sql_ms,
              median(self.postgres_ms), median(self.python_ms))  # fmt: skip
        return [count(self.keys), count(self.keys * SPANS), *(f"{v:.1f}" for v in ms),
                f"{median(self.other):.2f}", f"{statistics.mean(self.anomalies):.1f}"]  # fmt: skip


def _window(rng: random.Random, services: int, start: datetime, window_s: float) -> list[SpanRow]:
    """One window's spans: SPANS per key, a ring of calls from each service to the next."""
    rows: list[SpanRow] = []

    def span(at: float, service: int, path: int, trace: str, parent: str | None) -> str:
        span_id, callee = f"{rng.getrandbits(64):016x}", (service + 1) % services
        kind, failed = (CLIENT if path < 0 else SERVER), rng.random() < ERROR_RATE
        rows.append(
            span_row(
                timestamp=start + timedelta(seconds=at),
                service_name=f"svc-{service:05d}",
                endpoint=f"/r{max(path, 1) if kind == CLIENT else path}/{{id}}",  # calls /r1
                method="GET",
                status_code=500 if failed else 200,
                latency_ms=(5 + (service * 31 + path * 7) % 40) * rng.lognormvariate(0, 0.3),
                error_message="RuntimeError: stock service failed" if failed else None,
                trace_id=trace, span_id=span_id, parent_span_id=parent, kind=kind,
                peer_service=f"svc-{callee:05d}" if kind == CLIENT else None,
                error_kind="exception" if failed and kind == SERVER else None,
            )
        )  # fmt: skip
        return span_id

    for n in range(SPANS):
        for s in range(services):
            at = (n + (s + 0.5) / services) * window_s / SPANS
            trace = f"{rng.getrandbits(128):032x}"
            call = span(at + 1e-4, s, -1, trace, span(at, s, 0, trace, None))
            span(at + 2e-4, (s + 1) % services, 1, trace, call)
            for path in range(2, ENDPOINTS - 1):
                span(at, s, path, f"{rng.getrandbits(128):032x}", None)
    return rows


def _label(query: str) -> str:
    return next((name for words, name in _STATEMENTS if words in query), query.split()[0])


async def _size(ctx: Context, conn: asyncpg.Connection, keys: int, profile: bool) -> Size:
    """Load the windows, warm up, then time `cycle_rounds` cycles (and profile one more)."""
    timing = Timing()
    config = DetectionConfig(window_seconds=timing.window_s)  # as the analyzer's settings do
    warm = config.min_windows + WARM_EXTRA
    windows = warm + ctx.config.cycle_rounds + (1 if profile else 0)
    size = Size(keys)
    recent = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=windows * 5 + 60)
    print(f"K: {count(keys)} keys, {windows} windows", file=sys.stderr, flush=True)
    await conn.execute(f"TRUNCATE {TABLES}")
    began, rng = time.perf_counter(), random.Random(keys)
    for w in range(windows):
        rows = _window(rng, keys // ENDPOINTS, recent + w * timedelta(seconds=5), timing.window_s)
        await conn.copy_records_to_table("telemetry", records=rows, columns=COLUMNS)
        size.loaded += len(rows)
    await conn.execute("VACUUM ANALYZE telemetry")  # summarizes the BRIN page ranges
    size.load_s = time.perf_counter() - began

    state, logged = AnalysisState(), list[LoggedQuery]()
    conn.add_query_logger(logged.append)
    try:
        for w in range(windows):
            if w == warm:
                size.established = sum(is_established(b, config) for b in state.baselines.values())
            now = recent + timedelta(seconds=timing.window_s * (w + 1) + timing.ingest_lag_s)
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
                size.profile = [
                    f"one cycle under cProfile: {wall:.0f} ms",
                    *profile_lines(profiler),
                ]
                break
            cpu, pg = (time.process_time() - cpu) * 1000, (ctx.postgres_cpu() - pg) * 1000
            busy = (machine_cpu()["busy"] - busy) * 1000
            await asyncio.sleep(0)  # asyncpg calls the logger soon after each statement
            if report is None:
                raise RuntimeError(f"cycle {w} found no window to analyse")
            if w < warm:
                continue
            by_statement: dict[str, float] = defaultdict(float)
            for query in logged:
                by_statement[_label(query.query)] += query.elapsed * 1000
            size.sql.append(dict(by_statement))
            size.ms.append(wall)
            size.python_ms.append(cpu)
            size.postgres_ms.append(pg)
            size.other.append(max(0.0, busy - pg - cpu) / wall)
            size.judged.append(len(report.windows))
            size.rows.append(report.rows)
            size.anomalies.append(len(report.anomalies))
            size.skipped += len(report.skipped)
    finally:
        conn.remove_query_logger(logged.append)
    return size


async def _measure(ctx: Context) -> list[Size]:
    conn: asyncpg.Connection = await asyncpg.connect(
        ctx.db.dsn, timeout=10, server_settings=SESSION_SETTINGS
    )
    try:
        await apply_migrations(conn, component="analyzer", package="analyzer")
        largest = max(ctx.config.cycle_keys)
        sizes = [await _size(ctx, conn, k, k == largest) for k in ctx.config.cycle_keys]
        await conn.execute(f"TRUNCATE {TABLES}")  # leave the next section empty tables
        return sizes
    finally:
        await conn.close()


def _short(keys: int) -> str:
    return f"{keys // 1000}k" if keys % 1000 == 0 else str(keys)


def run(ctx: Context) -> Section:
    rounds = ctx.config.cycle_rounds
    section = Section(
        "K", f"Analyzer cycle time vs keys: {ENDPOINTS} keys a service, {SPANS} spans a key"
    )
    sizes = asyncio.run(_measure(ctx))
    small, big = sizes[0], sizes[-1]
    growth = big.median / small.median
    python = big.median - big.sql_ms
    names = sorted({name for cycle in big.sql for name in cycle}, key=lambda n: -big.statement(n))
    section.headers = [
        "keys", "rows/window", "median ms", "p95 ms", "ms per 1k keys", "SQL ms",
        "PG CPU ms", "Python CPU ms", "other cores", "anomalies",
    ]  # fmt: skip
    section.rows = [size.cells() for size in sizes]
    section.notes += [
        f"per size: a fresh state, {DetectionConfig().min_windows + WARM_EXTRA} warm-up cycles "
        f"(baselines established), then {rounds} timed cycles of consecutive 5 s windows",
        f"growth {_short(big.keys)}/{_short(small.keys)} keys: {ratio(growth)} "
        f"(linear would be {big.keys / small.keys:g})",
        f"where a cycle's {big.median:.0f} ms go at {count(big.keys)} keys (medians): "
        + ", ".join(f"{n} {big.statement(n):.0f}" for n in names if big.statement(n) >= 1)
        + f" ms of SQL; the rest, {python:.0f} ms ({python / big.median:.0%}), is Python",
        f"load at {count(big.keys)} keys: {count(big.loaded)} rows by binary COPY in "
        f"{big.load_s:.1f} s, VACUUM ANALYZE included",
        *big.profile,
    ]
    section.goals.append(
        Goal(f"median_ms_at_{_short(big.keys)}_keys", big.median, GOAL_MS, at_most=True)
    )
    section.checks += [
        Check(
            "every_key_judged",
            all(set(s.judged) == {s.keys} and set(s.rows) == {s.keys * SPANS} for s in sizes),
            f"(keys, rows) each timed cycle read, per size: "
            f"{[(sorted(set(s.judged)), sorted(set(s.rows))) for s in sizes]}",
        ),
        Check(
            "warm",
            all(s.established >= WARM_SHARE * s.keys and not s.skipped for s in sizes),
            f"baselines established before timing: {[s.established for s in sizes]}, "
            f"keys skipped: {[s.skipped for s in sizes]}",
        ),
        Check(
            "machine_quiet",
            all(statistics.median(s.other) <= OTHER_CORES for s in sizes),
            "cores busy with neither PostgreSQL nor the analyzer, per size (median): "
            f"{[round(statistics.median(s.other), 2) for s in sizes]}",
        ),
    ]
    section.summary = (
        f"median **{big.median:.0f} ms** at {count(big.keys)} keys (p95 {big.p95:.0f} ms; "
        f"{big.median * 1000 / big.keys:.1f} ms per 1k keys) vs {small.median:.0f} ms at "
        f"{count(small.keys)}: growth **{growth:.2f}**; SQL {big.sql_ms:.0f} ms, Python "
        f"{python:.0f} ms"
    )
    section.data = {
        "rounds": rounds,
        "spans_per_key": SPANS,
        "keys_per_service": ENDPOINTS,
        "growth": growth,
        "sizes": {
            str(s.keys): {"median_ms": s.median, "p95_ms": s.p95, "sql_ms": s.sql_ms, **asdict(s)}
            for s in sizes
        },
    }
    return section
