"""The analyzer as its own process: API, metrics, and cycles over real shop telemetry."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import Shop
from tests.support.containers import ContainerRedis
from tests.support.processes import ServiceProcess

ORDER = {"items": [{"sku": "SKU-001", "quantity": 1}], "amount": 19.99, "currency": "USD"}


@pytest.fixture(scope="module")
def analyzer(database_url: str, redis_server: ContainerRedis) -> Iterator[ServiceProcess]:
    process = ServiceProcess(
        "analyzer.app:create_app",
        {
            "AIOPS_DATABASE_URL": database_url,
            "AIOPS_PARTITION_MAINTENANCE": "false",  # the session database is shared
            "AIOPS_REDIS_URL": redis_server.reset(),  # empty: no other leader holds the lock
            "AIOPS_ANALYSIS_INTERVAL": "1",
            "AIOPS_INGEST_LAG": "0.5",
        },
    ).start()
    yield process
    process.stop()


async def test_cycles_learn_baselines_from_shop_traffic_and_report_metrics(
    shop: Shop, analyzer: ServiceProcess
) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        for _ in range(20):
            assert (await client.post(f"{shop.checkout.url}/checkout", json=ORDER)).is_success
        await asyncio.sleep(2.5)  # a cycle runs every second, half a second behind
        analyzed = (await client.post(f"{analyzer.url}/analyze")).json()
        baselines = (await client.get(f"{analyzer.url}/baselines")).json()
        anomalies = (await client.get(f"{analyzer.url}/anomalies")).json()
        metrics = (await client.get(f"{analyzer.url}/metrics")).text
        health = (await client.get(f"{analyzer.url}/health")).json()
    assert set(analyzed) >= {"analyzed"}
    keys = {(b["kind"], b["service"], b["target"]) for b in baselines}
    assert all(isinstance(b["established"], bool) for b in baselines)
    assert ("endpoint", "checkout", "/checkout") in keys
    assert ("edge", "checkout", "payment") in keys
    assert set(anomalies) == {"active", "recent"}
    assert health["status"] == "ok"
    assert health["cycles"] >= 1
    cycles = next(
        line for line in metrics.splitlines() if line.startswith("aiops_analyzer_cycles_total")
    )
    assert int(cycles.split()[1]) >= 1
    assert 'aiops_analyzer_anomalies_total{type="latency"}' in metrics
    # Healthy traffic: every key judged, none skipped (the counter is there, at 0).
    assert "aiops_analyzer_keys_skipped_total 0" in metrics.splitlines()
