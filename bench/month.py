"""L. Thirty simulated days at the shop's rate: disk, the analyzer's cycle and a 30-day Grafana
panel, day after day, as ratios against the first day.

Each simulated day the analyzer's own housekeeping runs at that day's time
(`maintain_partitions`: days ahead created, days past retention dropped
with cited traces kept), then the day's spans are generated in PostgreSQL
(a checkout every 1/rate s: six spans across checkout, payment, inventory
and its database), loaded into the day's partition as a bulk load would be
(rows first, then indexes, then ATTACH: generating 150 million rows through
live indexes would take hours), and rolled up per minute. At the end of
each day: the disk the telemetry, rollups and kept evidence take, twenty
analyzer cycles on that day's last windows, and the "Requests per second"
panel of the service overview over the last 30 days.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

from aiops_engine.detection import DetectionConfig
from aiops_telemetry import apply_migrations
from analyzer.cycle import AnalysisState, Timing, run_cycle
from analyzer.store import SESSION_SETTINGS
from analyzer.store.retention import RetentionPolicy, maintain_partitions
from analyzer.store.rollups import roll_up
from tests.grafana.macros import TimeRange, Variable, expand

from .config import REPO_ROOT
from .fleet import Context
from .report import Check, Goal, Section, count, ratio
from .shop_days import load_partition

DAY = timedelta(days=1)
SERVICES = ("checkout", "inventory", "payment")
PANEL = "Requests per second"
_WARM_UP = 12  # cycles on day 1 before measuring: baselines are established after 10 windows
_CYCLES = 20  # measured each day
_DELAY = timedelta(minutes=2)  # roll_up's default: minutes this far behind now are complete

_DISK_SQL = """
SELECT coalesce(sum(pg_total_relation_size(p.partition)), 0)
    + pg_total_relation_size('telemetry_evidence')
FROM (SELECT partition FROM aiops_partitions('telemetry')
      UNION ALL SELECT partition FROM aiops_partitions('telemetry_minutes')) AS p
"""


@dataclass(frozen=True, slots=True)
class Day:
    day: int
    rows_held: int  # telemetry rows in the table at the end of the day
    disk_mb: float
    cycle_ms: float  # median of the day's measured cycles
    panel_ms: float  # median of three runs of the 30-day panel
    load_s: float
    rollup_s: float
    dropped: int  # partitions retention dropped that day
    evidence_spans: int  # kept so far


def panel_sql(end: datetime, days: float = 30) -> str:
    """The service overview's requests/s panel over `days` ending at `end`, as Grafana runs it."""
    board = json.loads((REPO_ROOT / "grafana/dashboards/service-overview.json").read_text())
    [target] = next(p for p in board["panels"] if p["title"] == PANEL)["targets"]
    rng = TimeRange(end - timedelta(days=days), end)
    interval = (rng.end - rng.start).total_seconds() / 1000  # ~1,000 points, as Grafana picks
    return expand(
        target["rawSql"],
        rng,
        {
            "service": Variable(SERVICES, multi=True),
            "__interval": Variable(f"{interval:.0f}s"),
            "__interval_ms": Variable(f"{interval * 1000:.0f}"),
        },
    )


async def _cite_a_trace(conn: asyncpg.Connection, start: datetime) -> None:
    """An anomaly each day citing one of its traces, as an incident's evidence would."""
    trace_id = await conn.fetchval(
        'SELECT trace_id FROM telemetry WHERE "timestamp" >= $1 AND "timestamp" < $2 LIMIT 1',
        start + timedelta(hours=12),
        start + timedelta(hours=13),
    )
    await conn.execute(
        """INSERT INTO analyzer_anomalies (detected_at, type, kind, service, target, observed,
               baseline, threshold, window_start, window_end, sample_count, score,
               sample_trace_ids, explanation)
           VALUES ($1, 'latency', 'endpoint', 'payment', '/payment', 1, 1, 1, $1, $1, 1, 1,
               ARRAY[$2], 'cited by the 30-day benchmark')""",
        start + timedelta(hours=12),
        trace_id,
    )


async def _median_ms(conn: asyncpg.Connection, sql: str, runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        await conn.fetch(sql)
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


async def _cycles(
    conn: asyncpg.Connection, state: AnalysisState, day_end: datetime, n: int
) -> list[float]:
    """Wall ms of `n` consecutive cycles on the windows just before `day_end`."""
    timing = Timing()
    config = DetectionConfig(window_seconds=timing.window_s)
    state.last_end = None  # a new day: no catching up on the night
    ms = []
    for i in range(n + 2):
        now = day_end - timedelta(seconds=timing.window_s * (n + 2 - i)) + timedelta(seconds=3)
        began = time.perf_counter()
        if await run_cycle(conn, state, config, timing, now=now) is None:
            raise RuntimeError(f"no window to analyse at {now}")
        if i >= 2:  # the first two re-warm the connection after a day's load
            ms.append((time.perf_counter() - began) * 1000)
    return ms


async def _simulate(dsn: str, days: int, rate: float) -> tuple[list[Day], dict[str, float]]:
    conn: asyncpg.Connection = await asyncpg.connect(
        dsn, timeout=10, command_timeout=3600, server_settings=SESSION_SETTINGS
    )
    try:
        await apply_migrations(conn, component="telemetry", package="aiops_telemetry")
        await apply_migrations(conn, component="analyzer", package="analyzer")
        await conn.execute("TRUNCATE telemetry, telemetry_evidence, analyzer_anomalies")
        # Simulated days begin after the partitions the migrations made around today.
        first = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) + 4 * DAY
        policy = RetentionPolicy()
        state = AnalysisState()
        results: list[Day] = []
        raw_panel: dict[str, float] = {}
        # Panels run as Grafana runs them: a session with PostgreSQL's own settings.
        viewer: asyncpg.Connection = await asyncpg.connect(dsn, timeout=10, command_timeout=3600)
        kept = 0
        for n in range(days):
            start = first + n * DAY
            report = await maintain_partitions(conn, policy, now=start)
            kept += report.evidence_spans
            began = time.perf_counter()
            await load_partition(conn, f"telemetry_p{start:%Y%m%d}", start, start + DAY, rate)
            loaded = time.perf_counter()
            # The analyzer's own rollup step, a whole day in one go, mark included.
            await roll_up(conn, now=start + DAY + _DELAY, max_minutes=24 * 60, first=DAY + _DELAY)
            await conn.execute("ANALYZE telemetry_minutes")
            rolled = time.perf_counter()
            await _cite_a_trace(conn, start)
            end = start + DAY
            cycles = await _cycles(conn, state, end, _CYCLES + (_WARM_UP if n == 0 else 0))
            cycles = cycles[-_CYCLES:]
            day = Day(
                day=n + 1,
                rows_held=int(await conn.fetchval("SELECT count(*) FROM telemetry")),
                disk_mb=int(await conn.fetchval(_DISK_SQL)) / 2**20,
                cycle_ms=statistics.median(cycles),
                panel_ms=await _median_ms(viewer, panel_sql(end)),
                load_s=loaded - began,
                rollup_s=rolled - loaded,
                dropped=len(report.dropped),
                evidence_spans=kept,
            )
            if n in (0, days - 1):  # the same panel read from raw spans, as before rollups
                raw_panel[f"day {n + 1}"] = await _median_ms(viewer, _raw_panel(end), runs=1)
            results.append(day)
            print(f"L: day {n + 1}: {day}", file=sys.stderr, flush=True)
        await viewer.close()
        return results, raw_panel
    finally:
        await conn.close()


def _raw_panel(end: datetime) -> str:
    """The panel's query before rollups: every span of the 30 days, grouped."""
    interval = 30 * 86_400 / 1000
    return f"""SELECT floor(extract(epoch FROM "timestamp") / {interval}) * {interval} AS time,
  service_name || ' ' || endpoint AS endpoint, count(*) / {interval} AS "req/s"
FROM telemetry
WHERE "timestamp" BETWEEN '{(end - 30 * DAY).isoformat()}' AND '{end.isoformat()}'
  AND kind = 'server' AND service_name IN ('checkout', 'inventory', 'payment')
GROUP BY 1, 2 ORDER BY 1, 2"""


_SHOWN = (1, 2, 7, 8, 9, 15, 22, 30)


def run(ctx: Context) -> Section:
    days, rate = ctx.config.month_days, ctx.config.month_rate
    section = Section("L", f"{days} simulated days at {rate:g} checkouts/s, 7-day retention")
    results, raw_panel = asyncio.run(_simulate(ctx.db.dsn, days, rate))
    first, last = results[0], results[-1]
    horizon = results[min(7, len(results) - 1)]  # day 8: the first with a full 7 days behind
    section.headers = ["day", "rows held", "disk MB", "cycle ms", "30-day panel ms", "vs day 1"]
    section.rows = [
        [
            str(d.day),
            count(d.rows_held),
            f"{d.disk_mb:,.0f}",
            f"{d.cycle_ms:.1f}",
            f"{d.panel_ms:.1f}",
            f"disk {d.disk_mb / first.disk_mb:.1f}x, cycle {d.cycle_ms / first.cycle_ms:.2f}x, "
            f"panel {d.panel_ms / first.panel_ms:.2f}x",
        ]
        for d in results
        if d.day in _SHOWN or d is last
    ]
    disk_flat = last.disk_mb / horizon.disk_mb
    cycle_flat = last.cycle_ms / first.cycle_ms
    panel_vs_raw = raw_panel[f"day {last.day}"] / last.panel_ms
    section.notes += [
        f"per day: {count(86_400 * rate * 6)} spans generated and bulk-loaded in "
        f"{statistics.median(d.load_s for d in results):.1f} s, rolled up in "
        f"{statistics.median(d.rollup_s for d in results):.1f} s (medians)",
        f"disk day {last.day} / day {horizon.day}: {ratio(disk_flat)} (retention drops a day "
        f"as one arrives); partitions dropped: {sum(d.dropped for d in results)}; evidence "
        f"spans kept past retention: {last.evidence_spans}",
        f"cycle: median of {_CYCLES} cycles on each day's last windows; day {last.day} / day 1: "
        f"{ratio(cycle_flat)}",
        f"the panel over raw spans (before rollups): {raw_panel['day 1']:.0f} ms on day 1, "
        f"{raw_panel[f'day {last.day}']:,.0f} ms on day {last.day} — "
        f"{panel_vs_raw:,.0f}x the rollups' {last.panel_ms:.1f} ms",
        "bulk-built indexes are denser than ones grown by live inserts: the sinks' disk is "
        "somewhat larger; it is flat all the same",
    ]
    section.goals += [
        Goal(f"disk_day{last.day}/day{horizon.day}", disk_flat, 1.1, at_most=True),
        Goal(f"cycle_day{last.day}/day1", cycle_flat, 1.5, at_most=True),
        Goal("raw_panel/rollup_panel", panel_vs_raw, 10.0),
    ]
    section.checks += [
        Check(
            "retention_dropped_days",
            sum(d.dropped for d in results) >= days - 8,
            f"{sum(d.dropped for d in results)} partitions dropped over {days} days",
        ),
        Check("evidence_kept", last.evidence_spans > 0, f"{last.evidence_spans} spans kept"),
    ]
    section.summary = (
        f"disk flat past the 7-day horizon: day {last.day} / day {horizon.day} "
        f"**{ratio(disk_flat)}** ({last.disk_mb:,.0f} MB, {count(last.rows_held)} rows); "
        f"cycle day {last.day} / day 1 **{ratio(cycle_flat)}** ({last.cycle_ms:.1f} ms); "
        f"30-day panel {first.panel_ms:.1f} → {last.panel_ms:.1f} ms from rollups, "
        f"**{panel_vs_raw:,.0f}x** faster than from raw spans"
    )
    section.data = {
        "days": [asdict(d) for d in results],
        "raw_panel_ms": raw_panel,
        "rate": rate,
    }
    return section
