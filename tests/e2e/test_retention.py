"""Partitions, retention and rollups on the real compose stack: the analyzer's housekeeping keeps
days ahead, drops an expired day with its cited traces kept, and rolls up every minute."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.support.compose import ComposeStack, running_stack
from tests.support.polling import eventually
from tests.support.traffic import checkouts

pytestmark = pytest.mark.e2e

DAY = timedelta(days=1)


@pytest.fixture(scope="module")
def stack() -> Iterator[ComposeStack]:
    with running_stack() as stack:
        yield stack


async def test_an_expired_day_is_dropped_and_its_cited_trace_still_opens(
    stack: ComposeStack,
) -> None:
    now = datetime.now(UTC)
    old = (now - 10 * DAY).replace(hour=0, minute=0, second=0, microsecond=0)
    cited, uncited = uuid.uuid4().hex, uuid.uuid4().hex
    async with stack.database() as db:
        assert (
            await db.fetchval("SELECT relkind::text FROM pg_class WHERE relname = 'telemetry'")
            == "p"
        )
        newest = await db.fetchval("SELECT max(upper) FROM aiops_partitions('telemetry')")
        assert newest >= now + DAY  # days ahead are there before their rows
        await db.execute(
            f"CREATE TABLE telemetry_p{old:%Y%m%d} PARTITION OF telemetry "
            f"FOR VALUES FROM ('{old.isoformat()}') TO ('{(old + DAY).isoformat()}')"
        )
        for trace_id in (cited, uncited):
            await db.execute(
                """INSERT INTO telemetry ("timestamp", service_name, endpoint, method,
                       status_code, latency_ms, trace_id, span_id, kind)
                   VALUES ($1, 'payment', '/payment', 'POST', 500, 900, $2, 'a1b2c3d4e5f60718',
                       'server')""",
                old + timedelta(hours=3),
                trace_id,
            )
        await db.execute(
            """INSERT INTO analyzer_anomalies (detected_at, type, kind, service, target, observed,
                   baseline, threshold, window_start, window_end, sample_count, score,
                   sample_trace_ids, explanation)
               VALUES ($1, 'error_spike', 'endpoint', 'payment', '/payment', 1, 0, 0.05, $1, $1,
                   1, 1, ARRAY[$2], 'an old incident''s evidence')""",
            old + timedelta(hours=3, seconds=8),
            cited,
        )
    # Housekeeping maintains partitions when the analyzer starts (then every 10 minutes).
    stack.compose("restart", "analyzer")
    async with stack.database() as db:

        async def dropped() -> bool:
            parts = await db.fetch("SELECT partition::text FROM aiops_partitions('telemetry')")
            return f"telemetry_p{old:%Y%m%d}" not in [row[0] for row in parts]

        await eventually(dropped, within=60, what="the expired day dropped")
    analyzer = stack.url("analyzer")
    async with httpx.AsyncClient(timeout=10) as client:
        kept = await client.get(f"{analyzer}/traces/{cited}")
        gone = await client.get(f"{analyzer}/traces/{uncited}")
    assert kept.status_code == 200, kept.text
    assert kept.json()["spans"] == 1
    assert gone.status_code == 404


async def test_minutes_are_rolled_up_and_long_ranges_read_them(stack: ComposeStack) -> None:
    start = datetime.now(UTC).replace(second=0, microsecond=0)
    async with checkouts(stack.url("checkout"), per_second=5), stack.database() as db:

        async def rolled_up() -> bool:
            through = await db.fetchval("SELECT through FROM telemetry_rollup_progress")
            return through is not None and through >= start + timedelta(minutes=2)

        # A minute is rolled up two minutes after it ends; housekeeping runs every 15 s.
        await eventually(rolled_up, within=240, what="a minute of traffic rolled up", every=5)
        requests = await db.fetchval(
            "SELECT sum(requests) FROM endpoint_stats_minute "
            "WHERE minute = $1 AND service = 'checkout'",
            start + timedelta(minutes=1),
        )
        raw = await db.fetchval(
            "SELECT count(*) FROM telemetry WHERE kind = 'server' "
            'AND service_name = \'checkout\' AND "timestamp" >= $1 AND "timestamp" < $2',
            start + timedelta(minutes=1),
            start + timedelta(minutes=2),
        )
        assert requests == raw > 0
        hourly = await db.fetchval(
            "SELECT sum(requests) FROM endpoint_stats_hourly(now() - interval '1 hour') "
            "WHERE service = 'checkout'"
        )
        assert hourly >= raw
    async with httpx.AsyncClient(timeout=10) as client:
        day = (
            await client.get(f"{stack.url('analyzer')}/latency", params={"minutes": 1440})
        ).json()
    assert day["bucket_s"] % 60 == 0  # beyond 6 hours: whole minutes, from the rollups
    checkout = [
        e for e in day["endpoints"] if (e["service"], e["endpoint"]) == ("checkout", "/checkout")
    ]
    assert checkout, day["endpoints"]
    assert sum(p["count"] for p in checkout[0]["points"]) >= raw
