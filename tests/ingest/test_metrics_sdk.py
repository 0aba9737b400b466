"""The stock OpenTelemetry SDK, unmodified, exporting metrics to a real receiver process: its
OTLPMetricExporter (OTLP/HTTP protobuf) and PeriodicExportingMetricReader, an observable gauge
and a histogram, read back as the analyzer reads them, and watched by a real analysis cycle."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource

from aiops_engine.detection import DetectionConfig
from analyzer.cycle import AnalysisState, Timing, run_cycle
from analyzer.metric_cycle import MetricMemory, MetricWatch
from analyzer.store.metric_points import MetricPoint, points_between
from tests.support.polling import eventually
from tests.support.processes import ServiceProcess
from tests.support.telemetry_rows import schema_connection

LATENCIES_MS = [3.0, 7.0, 12.0, 30.0, 60.0, 80.0, 200.0, 900.0]


@pytest.fixture
def provider(ingest: ServiceProcess) -> Iterator[tuple[str, MeterProvider]]:
    """A user's app: its own service name, the SDK's exporter pointed at the receiver."""
    name = f"sdk-{uuid.uuid4().hex[:10]}"
    exporter = OTLPMetricExporter(endpoint=f"{ingest.url}/v1/metrics", timeout=10)
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
    provider = MeterProvider(
        metric_readers=[reader], resource=Resource.create({"service.name": name})
    )
    try:
        yield name, provider
    finally:
        provider.shutdown()


async def test_the_sdk_exporter_lands_a_gauge_and_a_histogram_the_analyzer_reads(
    provider: tuple[str, MeterProvider], db: asyncpg.Connection
) -> None:
    name, meters = provider
    meter = meters.get_meter("shop.checkout")

    def depth(options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(42.5, {"queue": "orders"})]

    meter.create_observable_gauge("queue.depth", callbacks=[depth], unit="{item}")
    latency = meter.create_histogram("http.server.request.duration", unit="ms")
    for value in LATENCIES_MS:
        latency.record(value, {"http.route": "/checkout"})
    began = datetime.now(UTC) - timedelta(seconds=1)
    assert await asyncio.to_thread(meters.force_flush, 10_000)

    async def read() -> list[MetricPoint] | None:
        found = await points_between(db, began, datetime.now(UTC) + timedelta(seconds=1))
        mine = [p for p in found if p.service == name]
        return mine if len(mine) == 5 else None

    points = await eventually(read, within=15, what="the SDK's points", every=0.1)
    values = {p.series: (p.kind, p.value) for p in points}
    histogram = f"{name}:http.server.request.duration"
    route = "{http.route=/checkout}"
    assert values[f"{name}:queue.depth{{queue=orders}}"] == ("gauge", 42.5)
    assert values[f"{histogram}.count{route}"] == ("count", 8.0)
    assert values[f"{histogram}.mean{route}"] == ("mean", sum(LATENCIES_MS) / 8)
    # The SDK's default bounds (0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, ...): the
    # median's rank 4 ends (25, 50], the 95th's 7.6 falls 60% into (750, 1000].
    assert values[f"{histogram}.p50{route}"] == ("p50", 50.0)
    kind, p95 = values[f"{histogram}.p95{route}"]
    assert (kind, round(p95, 9)) == ("p95", 900.0)
    assert {p.unit for p in points if p.name == "queue.depth"} == {"{item}"}
    stored = await db.fetch(
        "SELECT DISTINCT kind FROM metric_points WHERE service = $1 ORDER BY kind", name
    )
    assert [r["kind"] for r in stored] == ["gauge", "histogram"]  # cumulative, as the SDK sends


async def test_the_analyzer_watches_what_the_sdk_exporter_sends(
    provider: tuple[str, MeterProvider], database_url: str
) -> None:
    """The whole path: the unmodified exporter → ingest → `metric_points` → a real analysis
    cycle, which judges the gauge and every figure of the histogram and keeps their states
    (what `GET /metric-series` lists)."""
    name, meters = provider
    meter = meters.get_meter("shop.checkout")
    meter.create_observable_gauge(
        "queue.depth", callbacks=[lambda _: [Observation(7.0, {"queue": "orders"})]]
    )
    latency = meter.create_histogram("http.server.request.duration", unit="ms")
    for value in LATENCIES_MS:
        latency.record(value, {"http.route": "/checkout"})
    began = datetime.now(UTC) - timedelta(seconds=1)
    assert await asyncio.to_thread(meters.force_flush, 10_000)
    histogram, route = f"{name}:http.server.request.duration", "{http.route=/checkout}"
    expected = {f"{name}:queue.depth{{queue=orders}}"} | {
        f"{histogram}.{figure}{route}" for figure in ("count", "mean", "p50", "p95")
    }

    async with schema_connection(database_url, analyzer=True) as conn:

        async def landed() -> bool | None:
            found = await points_between(conn, began, datetime.now(UTC) + timedelta(seconds=1))
            return True if {p.series for p in found} >= expected else None

        await eventually(landed, within=15, what="the SDK's points", every=0.1)
        state = AnalysisState(last_end=began, metrics=MetricMemory(end=began))
        now = datetime.now(UTC) + timedelta(seconds=MetricWatch().lateness_s + 1)
        report = await run_cycle(conn, state, DetectionConfig(), Timing(), now=now)
        assert report is not None
        assert report.metrics is not None
        judged = {j.series for j in report.metrics.watched.judgements}
        assert judged >= expected
        watched = await conn.fetch(
            "SELECT series, service FROM analyzer_metric_states WHERE service = $1", name
        )
    assert {row["series"] for row in watched} == expected
