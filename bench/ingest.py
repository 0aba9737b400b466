"""B. How close `TelemetrySink` gets to a raw asyncpg COPY of the same rows."""

from __future__ import annotations

import asyncio
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta

import asyncpg
from pydantic import SecretStr

from aiops_telemetry import CLIENT, COLUMNS, SERVER, SpanRow, Telemetry, apply_migrations, span_row

from .apps import BenchSettings
from .fleet import Context
from .report import Check, Goal, Section, count, ratio

# One checkout trace as the shop records it: (service, endpoint, method, kind, peer).
_TRACE = (
    ("checkout", "/checkout", "POST", SERVER, None),
    ("checkout", "/payment", "POST", CLIENT, "payment"),
    ("payment", "/payment", "POST", SERVER, None),
    ("checkout", "/inventory/reserve", "POST", CLIENT, "inventory"),
    ("inventory", "/inventory/reserve", "POST", SERVER, None),
    ("inventory", "UPDATE inventory_stock", "SQL", CLIENT, "postgres"),
    ("inventory", "INSERT inventory_reservations", "SQL", CLIENT, "postgres"),
)
_STACK = "Traceback (most recent call last):\n" + '  File "app.py", line 42, in handler\n' * 12


def make_rows(n: int, seed: int = 7) -> list[SpanRow]:
    """`n` rows shaped like the shop's: whole traces, ~1% errors carrying a stack trace."""
    rng = random.Random(seed)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    rows: list[SpanRow] = []
    while len(rows) < n:
        trace_id = f"{rng.getrandbits(128):032x}"
        at = start + timedelta(microseconds=len(rows) * 300)
        failed = rng.random() < 0.01
        parent: str | None = None
        for service, endpoint, method, kind, peer in _TRACE:
            span_id = f"{rng.getrandbits(64):016x}"
            is_sql = method == "SQL"
            rows.append(
                span_row(
                    timestamp=at,
                    service_name=service,
                    endpoint=endpoint,
                    method=method,
                    status_code=None if is_sql else (500 if failed else 200),
                    latency_ms=rng.lognormvariate(1.5, 0.5),
                    error_message=_STACK if failed and kind == SERVER else None,
                    trace_id=trace_id,
                    span_id=span_id,
                    parent_span_id=parent,
                    kind=kind,
                    peer_service=peer,
                    error_kind="exception" if failed and kind == SERVER else None,
                )
            )
            parent = span_id
    return rows[:n]


async def raw_copy_seconds(dsn: str, rows: list[SpanRow], batch: int) -> float:
    """Seconds to COPY `rows` straight into telemetry: what every ingest path is measured by."""
    # Connecting and the migration check are timed in both variants: the sink does both.
    started = time.perf_counter()
    conn: asyncpg.Connection = await asyncpg.connect(dsn, timeout=10)
    try:
        await apply_migrations(conn, component="telemetry", package="aiops_telemetry")
        for i in range(0, len(rows), batch):
            await conn.copy_records_to_table(
                "telemetry", records=rows[i : i + batch], columns=COLUMNS
            )
    finally:
        await conn.close()
    return time.perf_counter() - started


async def _through_sink(dsn: str, rows: list[SpanRow], batch: int) -> tuple[float, int, int]:
    """Rows fed as a busy service would: `batch` records, then the event loop runs.

    When the sink is full the feeder waits instead of letting it drop, so this
    measures the rate the sink sustains; drops are still counted and checked.
    """
    settings = BenchSettings(database_url=SecretStr(dsn))
    sink = Telemetry(settings, version="bench").sink  # the sink exactly as a service builds it
    high_water = settings.telemetry_max_buffered - batch
    started = time.perf_counter()
    await sink.start()
    for i in range(0, len(rows), batch):
        for row in rows[i : i + batch]:
            sink.record(row)
        await asyncio.sleep(0)
        # The sink offers no "has room" event; polling its stats is what a caller can do.
        while sink.stats().buffered > high_water:  # noqa: ASYNC110
            await asyncio.sleep(0.001)
    await sink.close()
    elapsed = time.perf_counter() - started
    stats = sink.stats()
    return elapsed, stats.written, stats.dropped


def run(ctx: Context) -> Section:
    cfg = ctx.config
    n, batch = cfg.ingest_rows, cfg.ingest_batch
    section = Section("B", f"Ingest: {count(n)} span rows, {count(batch)}-row batches")
    print(f"B: generating {count(n)} rows", file=sys.stderr)
    rows = make_rows(n)
    dsn = ctx.db.dsn

    # A small untimed COPY first, so neither variant pays for a cold table.
    ctx.db.truncate()
    asyncio.run(raw_copy_seconds(dsn, rows[:batch], batch))
    raw_s: list[float] = []
    sink_s: list[float] = []
    raw_counts: list[int] = []
    sink_counts: list[tuple[int, int, int]] = []  # (written, dropped, rows in table)
    for _ in range(cfg.rounds):
        ctx.db.truncate()
        raw_s.append(asyncio.run(raw_copy_seconds(dsn, rows, batch)))
        raw_counts.append(ctx.db.count())
        ctx.db.truncate()
        elapsed, written, dropped = asyncio.run(_through_sink(dsn, rows, batch))
        sink_s.append(elapsed)
        sink_counts.append((written, dropped, ctx.db.count()))
    ctx.db.truncate()

    raw_rate = statistics.median(n / s for s in raw_s)
    sink_rate = statistics.median(n / s for s in sink_s)
    # Paired like the HTTP sections: each round's two variants ran back to back.
    per_round = [r / s for r, s in zip(raw_s, sink_s, strict=True)]
    sink_ratio = statistics.median(per_round)
    section.headers = ["variant", "rows/s (median)", "min..max", "seconds (median)", "vs raw"]
    section.rows = [
        rate_row("raw copy_records_to_table", n, raw_s, 1.0),
        rate_row("TelemetrySink.record+close", n, sink_s, sink_ratio),
    ]
    section.goals.append(Goal("sink/raw", sink_ratio, 0.6))
    section.checks += [
        Check("raw_rows", all(c == n for c in raw_counts), f"rows in table per round {raw_counts}"),
        Check(
            "sink_rows",
            all(w == n and d == 0 and c == n for w, d, c in sink_counts),
            f"(written, dropped, rows in table) per round {sink_counts}",
        ),
    ]
    section.data = {
        "rows": n,
        "batch": batch,
        "raw": {"rows_per_s": round(raw_rate), "seconds": [round(s, 3) for s in raw_s]},
        "sink": {"rows_per_s": round(sink_rate), "seconds": [round(s, 3) for s in sink_s]},
        "ratios": {"sink/raw": round(sink_ratio, 4)},
        "ratios_per_round": {"sink/raw": [round(r, 4) for r in per_round]},
    }
    return section


def rate_row(name: str, n: int, seconds: list[float], vs_raw: float) -> list[str]:
    """A table row: rows/s (median and spread over rounds), seconds, and the ratio to raw COPY."""
    rates = [n / s for s in seconds]
    rate = statistics.median(rates)
    return [
        name,
        count(rate),
        f"{count(min(rates))}..{count(max(rates))}",
        f"{statistics.median(seconds):.3f}",
        ratio(vs_raw),
    ]
