"""F. What one analyzer cycle costs with 10 thousand vs 10 million rows of history."""

from __future__ import annotations

import asyncio
import random
import statistics
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

from aiops_engine.detection import DetectionConfig
from aiops_telemetry import CLIENT, COLUMNS, SERVER, SpanRow, apply_migrations, span_row
from analyzer.cycle import AnalysisState, Timing, run_cycle
from analyzer.store import SESSION_SETTINGS
from analyzer.store.windows import WINDOW_STATS_SQL

from .fleet import Context
from .report import Check, Goal, Section, count, p95, ratio

SMALL = 10_000  # rows of history in the small case
CYCLES = 20  # measured cycles per size, after one untimed warm-up cycle
PER_WINDOW = 500  # rows in each analysed 5 s window, the same in both cases
RECENT = PER_WINDOW * (CYCLES + 1)  # the analysed block, identical in both cases
CHUNK = 100_000  # rows generated and COPYed at a time
HISTORY = timedelta(hours=24)
TABLES = "telemetry, analyzer_baselines, analyzer_anomalies"
_PLAN_WORDS = ("Scan", "Heap Blocks", "Removed by Index Recheck", "Execution Time")

# The shop's traces: (service, endpoint, method, kind, peer, index of the parent span).
Span = tuple[str, str, str, str, str | None, int | None]
_CHECKOUT: tuple[Span, ...] = (
    ("checkout", "/checkout", "POST", SERVER, None, None),
    ("checkout", "/payment", "POST", CLIENT, "payment", 0),
    ("payment", "/payment", "POST", SERVER, None, 1),
    ("checkout", "/inventory/reserve", "POST", CLIENT, "inventory", 0),
    ("inventory", "/inventory/reserve", "POST", SERVER, None, 3),
    ("inventory", "UPDATE inventory_stock", "SQL", CLIENT, "postgres", 4),
)
_LOOKUP: tuple[Span, ...] = (
    ("inventory", "/inventory/{sku}", "GET", SERVER, None, None),
    ("inventory", "SELECT inventory_stock", "SQL", CLIENT, "postgres", 0),
)


@dataclass(frozen=True, slots=True)
class Run:
    ms: list[float]  # wall time of each measured cycle
    rows: list[int]  # rows each measured cycle read
    total: int  # rows in the table
    load_s: float
    vacuum_s: float

    @property
    def median(self) -> float:
        return statistics.median(self.ms)

    @property
    def p95(self) -> float:
        return p95(self.ms)

    def cells(self) -> list[str]:
        spread = f"{min(self.ms):.2f}..{max(self.ms):.2f}"
        rows = f"{min(self.rows)}..{max(self.rows)}"
        return [count(self.total), f"{self.median:.2f}", f"{self.p95:.2f}", spread, rows]


def _chunks(rng: random.Random, start: datetime, end: datetime, n: int) -> Iterator[list[SpanRow]]:
    """`n` shop-like rows spread evenly over `[start, end)` in time order, CHUNK at a time."""
    step_us = (end - start) / timedelta(microseconds=1) / max(n, 1)
    chunk: list[SpanRow] = []
    done = 0
    while done < n:
        at = start + timedelta(microseconds=int(done * step_us))
        trace = (_CHECKOUT if rng.random() < 0.75 else _LOOKUP)[: n - done]
        trace_id = f"{rng.getrandbits(128):032x}"
        failed = rng.random() < 0.01
        ids: list[str] = []
        for j, (service, endpoint, method, kind, peer, parent) in enumerate(trace):
            ids.append(f"{rng.getrandbits(64):016x}")
            is_sql, broke = method == "SQL", failed and kind == SERVER
            chunk.append(
                span_row(
                    timestamp=at + timedelta(microseconds=50 * j),
                    service_name=service,
                    endpoint=endpoint,
                    method=method,
                    status_code=None if is_sql else (500 if failed else 200),
                    latency_ms=rng.lognormvariate(1.5 if is_sql else 2.5, 0.5),
                    error_message="RuntimeError: stock service failed" if broke else None,
                    trace_id=trace_id,
                    span_id=ids[-1],
                    parent_span_id=None if parent is None else ids[parent],
                    kind=kind,
                    peer_service=peer,
                    error_kind="exception" if broke else None,
                )
            )
        done += len(trace)
        if len(chunk) >= CHUNK or done == n:
            yield chunk
            chunk = []


async def _load(conn: asyncpg.Connection, old: int, recent: datetime) -> tuple[float, float]:
    """An empty table, then `old` rows over the 24 h before `recent`, then the analysed block."""
    await conn.execute(f"TRUNCATE {TABLES}")
    began = time.perf_counter()
    end = recent + timedelta(seconds=Timing().window_s * (CYCLES + 1))
    for rng, first, last, n in (
        (random.Random(1), recent - HISTORY, recent, old),
        (random.Random(2), recent, end, RECENT),
    ):
        for rows in _chunks(rng, first, last, n):
            await conn.copy_records_to_table("telemetry", records=rows, columns=COLUMNS)
    loaded = time.perf_counter() - began
    await conn.execute("VACUUM ANALYZE telemetry")  # summarizes the BRIN page ranges
    return loaded, time.perf_counter() - began - loaded


async def _cycles(conn: asyncpg.Connection, recent: datetime) -> tuple[list[float], list[int]]:
    """Wall ms of consecutive cycles (now += 5 s) from a fresh state, and the rows they read."""
    timing = Timing()
    config = DetectionConfig(window_seconds=timing.window_s)  # as the analyzer's settings do
    state = AnalysisState()
    ms: list[float] = []
    rows: list[int] = []
    for i in range(CYCLES + 1):
        now = recent + timedelta(seconds=timing.window_s * (i + 1) + timing.ingest_lag_s)
        began = time.perf_counter()
        report = await run_cycle(conn, state, config, timing, now=now)
        elapsed = (time.perf_counter() - began) * 1000
        if report is None:
            raise RuntimeError(f"cycle {i} found no window to analyse")
        if i:  # cycle 0 warms the connection's statement cache and the buffers
            ms.append(elapsed)
            rows.append(report.rows)
    return ms, rows


async def _measure(dsn: str, big: int) -> tuple[Run, Run, list[str]]:
    conn: asyncpg.Connection = await asyncpg.connect(
        dsn, timeout=10, server_settings=SESSION_SETTINGS
    )
    try:
        await apply_migrations(conn, component="analyzer", package="analyzer")
        recent = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=2)
        runs: list[Run] = []
        for old in (SMALL, max(big - RECENT, 0)):
            print(f"F: loading {count(old + RECENT)} rows", file=sys.stderr, flush=True)
            load_s, vacuum_s = await _load(conn, old, recent)
            ms, rows = await _cycles(conn, recent)
            total = int(await conn.fetchval("SELECT count(*) FROM telemetry"))
            runs.append(Run(ms, rows, total, load_s, vacuum_s))
        last = recent + timedelta(seconds=Timing().window_s * CYCLES)
        # With no bars (arrays empty): the plan's telemetry scan is what is shown.
        plan = await conn.fetch(
            f"EXPLAIN (ANALYZE, BUFFERS) {WINDOW_STATS_SQL}",
            last,
            last + timedelta(seconds=5),
            3,
            [],
            [],
            [],
            [],
            [],
        )
        await conn.execute(f"TRUNCATE {TABLES}")  # leave the next section an empty table
        return runs[0], runs[1], [str(r[0]) for r in plan]
    finally:
        await conn.close()


def run(ctx: Context) -> Section:
    big = ctx.config.history_rows
    section = Section("F", f"Analyzer cycle cost vs history: {CYCLES} cycles of 5 s windows")
    small_run, big_run, plan = asyncio.run(_measure(ctx.db.dsn, big))
    cycle_ratio = big_run.median / small_run.median
    section.headers = ["rows in table", "median ms", "p95 ms", "min..max ms", "rows/window"]
    section.rows = [small_run.cells(), big_run.cells()]
    section.notes += [
        f"load: {count(big_run.total)} rows by binary COPY in {big_run.load_s:.1f} s "
        f"({count(big_run.total / big_run.load_s)} rows/s), "
        f"VACUUM ANALYZE {big_run.vacuum_s:.1f} s",
        f"rows: history over 24 h ({count(SMALL)} in the small case), then {count(RECENT)} "
        f"in the analysed windows; per size a fresh AnalysisState, 1 warm-up + {CYCLES} "
        "consecutive windows (now += 5 s)",
        f"median ratio {count(big_run.total)}/{count(small_run.total)} rows: {ratio(cycle_ratio)}",
        f"EXPLAIN ANALYZE of the last window at {count(big_run.total)} rows:",
        *(f"  {line.strip()}" for line in plan if any(w in line for w in _PLAN_WORDS)),
    ]
    section.goals += [
        Goal("median_ms_at_history_rows", big_run.median, 100.0, at_most=True),
        Goal("median_history/10k", cycle_ratio, 1.5, at_most=True),
    ]
    section.checks += [
        Check(
            "same_windows",
            small_run.rows == big_run.rows and abs(statistics.mean(big_run.rows) - PER_WINDOW) < 5,
            f"rows each cycle read, identical at both sizes: {big_run.rows}",
        ),
        Check("table_rows", big_run.total == max(big, RECENT), f"{big_run.total} at the big size"),
    ]
    section.summary = (
        f"median **{big_run.median:.2f} ms** at {count(big_run.total)} rows vs "
        f"{small_run.median:.2f} ms at {count(small_run.total)} (p95 {big_run.p95:.1f} ms): "
        f"ratio **{cycle_ratio:.2f}**"
    )
    runs = {
        str(r.total): {"median_ms": r.median, "p95_ms": r.p95, **asdict(r)}
        for r in (small_run, big_run)
    }
    section.data = {"cycles": CYCLES, "ratio": cycle_ratio, "explain": plan, "runs": runs}
    return section
