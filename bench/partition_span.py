"""M. Day or hour partitions: the same 7 days of spans (the retention horizon) partitioned both
ways, and what the analyzer and a user pay for each: its cycle (a 5 s window), a trace looked
up by id (RCA, `/traces/{id}`, Grafana's trace lookup), the 6-hour Grafana panel, and
retention dropping one day. Ratios hour / day: above 1, hours cost more.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

from aiops_engine.detection import DetectionConfig
from aiops_telemetry import apply_migrations
from analyzer.cycle import AnalysisState, Timing, run_cycle
from analyzer.store import SESSION_SETTINGS
from analyzer.store.traces import trace_spans

from .fleet import Context
from .month import panel_sql
from .report import Goal, Section, count, ratio
from .shop_days import load_partition

DAYS = 7
SPANS = {"day": timedelta(days=1), "hour": timedelta(hours=1)}
_RUNS = 30


@dataclass(frozen=True, slots=True)
class Costs:
    partitions: int
    load_s: float
    cycle_ms: float
    trace_ms: float
    trace_planning_ms: float
    panel_6h_ms: float
    drop_day_ms: float


async def _median_ms(step: Callable[[], Awaitable[object]], runs: int = _RUNS) -> float:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        await step()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


async def _measure(dsn: str, span: timedelta, first: datetime, rate: float) -> Costs:
    conn: asyncpg.Connection = await asyncpg.connect(
        dsn, timeout=10, command_timeout=3600, server_settings=SESSION_SETTINGS
    )
    try:
        await apply_migrations(conn, component="telemetry", package="aiops_telemetry")
        await apply_migrations(conn, component="analyzer", package="analyzer")
        for row in await conn.fetch("SELECT partition::text FROM aiops_partitions('telemetry')"):
            await conn.execute(f"DROP TABLE {row[0]}")
        await conn.execute("CREATE TABLE telemetry_default PARTITION OF telemetry DEFAULT")
        began = time.perf_counter()
        n = int(timedelta(days=DAYS) / span)
        for i in range(n):
            start = first + i * span
            name = f"telemetry_p{start:%Y%m%d_%H%M}"
            await load_partition(conn, name, start, start + span, rate)
        load_s = time.perf_counter() - began
        end = first + timedelta(days=DAYS)

        timing = Timing()
        config = DetectionConfig(window_seconds=timing.window_s)
        state = AnalysisState()
        clock = [end - timedelta(hours=1)]

        async def cycle() -> None:
            clock[0] += timedelta(seconds=timing.window_s)
            await run_cycle(conn, state, config, timing, now=clock[0])

        for _ in range(12):  # baselines established
            await cycle()
        ids = [
            row[0]
            for row in await conn.fetch(
                'SELECT trace_id FROM telemetry WHERE "timestamp" >= $1 AND "timestamp" < $2 '
                "AND kind = 'server' AND parent_span_id IS NULL LIMIT 3",
                end - timedelta(days=3),
                end - timedelta(days=3) + timedelta(minutes=1),
            )
        ]
        plan = await conn.fetch(
            "EXPLAIN (ANALYZE) SELECT * FROM telemetry WHERE trace_id = ANY($1::text[])", ids
        )
        planning = float(next(r[0] for r in plan if r[0].startswith("Planning Time")).split()[2])
        panel = panel_sql(end, days=0.25)
        costs = Costs(
            partitions=n,
            load_s=load_s,
            cycle_ms=await _median_ms(cycle),
            trace_ms=await _median_ms(lambda: trace_spans(conn, ids)),
            trace_planning_ms=planning,
            panel_6h_ms=await _median_ms(lambda: conn.fetch(panel), runs=5),
            drop_day_ms=await _drop_first_day(conn, first, span),
        )
        print(f"M: {span}: {costs}", file=sys.stderr, flush=True)
        return costs
    finally:
        await conn.close()


async def _drop_first_day(conn: asyncpg.Connection, first: datetime, span: timedelta) -> float:
    """Retention's work for one day: its partitions dropped, one transaction each."""
    began = time.perf_counter()
    for i in range(int(timedelta(days=1) / span)):
        async with conn.transaction():
            await conn.execute(f"DROP TABLE telemetry_p{first + i * span:%Y%m%d_%H%M}")
    return (time.perf_counter() - began) * 1000


async def _both(dsn: str, rate: float) -> dict[str, Costs]:
    admin: asyncpg.Connection = await asyncpg.connect(dsn)
    # After the partitions the migrations make around today.
    first = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    first += timedelta(days=4)
    results: dict[str, Costs] = {}
    try:
        for label, span in SPANS.items():
            name = f"span_{label}"
            await admin.execute(f"DROP DATABASE IF EXISTS {name}")
            await admin.execute(f"CREATE DATABASE {name}")
            try:
                results[label] = await _measure(
                    dsn.rsplit("/", 1)[0] + f"/{name}", span, first, rate
                )
            finally:
                await admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
    finally:
        await admin.close()
    return results


_MEASURES = (
    ("cycle_ms", "analyzer cycle (5 s window), ms"),
    ("trace_ms", "3 traces by id, ms"),
    ("trace_planning_ms", "  of which planning, ms"),
    ("panel_6h_ms", "Grafana 6-hour panel, ms"),
    ("drop_day_ms", "retention: drop one day, ms"),
    ("load_s", "bulk load of the 7 days, s"),
)


def run(ctx: Context) -> Section:
    rate = ctx.config.span_rate
    section = Section("M", f"Day vs hour partitions: {DAYS} days at {rate:g} checkouts/s")
    costs = asyncio.run(_both(ctx.db.dsn, rate))
    day, hour = costs["day"], costs["hour"]
    section.headers = [
        "measure",
        f"day ({day.partitions})",
        f"hour ({hour.partitions})",
        "hour/day",
    ]
    section.rows = [
        [
            label,
            f"{getattr(day, field):.2f}",
            f"{getattr(hour, field):.2f}",
            ratio(getattr(hour, field) / getattr(day, field)),
        ]
        for field, label in _MEASURES
    ]
    trace_ratio = hour.trace_ms / day.trace_ms
    section.notes += [
        f"{count(DAYS * 86_400 * rate * 6)} spans either way; medians of {_RUNS} runs (panel: 5)",
        "every statement is planned over all the partitions it might touch: a trace id "
        "(no time in the key) is looked up in every partition's index, and with hours the "
        "planning dominates the cycle's queries too; a 5 s window or a 6-hour panel reads "
        "the same rows either way",
    ]
    section.goals += [Goal("trace_lookup_hour/day", trace_ratio, 1.0)]
    section.summary = (
        f"days chosen: with hour partitions ({hour.partitions} vs {day.partitions}) a trace "
        f"lookup costs **{trace_ratio:.1f}x** ({hour.trace_ms:.1f} vs {day.trace_ms:.1f} ms), "
        f"the cycle {hour.cycle_ms / day.cycle_ms:.2f}x, the 6-hour panel "
        f"{hour.panel_6h_ms / day.panel_6h_ms:.2f}x"
    )
    section.data = {label: asdict(c) for label, c in costs.items()}
    return section
