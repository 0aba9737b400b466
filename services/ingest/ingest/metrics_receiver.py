"""POST /v1/metrics: decode, map, and hand every row of a request to the metric sink, or none.

The body rules (types, gzip, limits) and refusals are the trace receiver's
own (`Receiver.read`, `Receiver.take`), so both routes answer and count
alike. Rows go to `metric_points` through a sink of their own: the same
bounded COPY writer as spans, so a slow database makes senders retry (503)
rather than lose points. Stateless, like the trace route: running totals are
stored as sent, and turned into rates where they are read.
"""

from __future__ import annotations

from collections import Counter

import asyncpg
from fastapi import APIRouter, Request, Response
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsPartialSuccess,
    ExportMetricsServiceResponse,
)

from aiops_api.ingest import ExportMetricsAnswer, MetricCounts
from aiops_telemetry import CopySink, apply_migrations
from aiops_telemetry.metric_rows import METRIC_COLUMNS, MetricRow
from aiops_telemetry.otlp import OtlpDecodeError
from aiops_telemetry.otlp_metrics import (
    OtlpMetrics,
    decode_metrics_json,
    decode_metrics_proto,
    rows_from_metrics_request,
)

from .receiver import Receiver, encoded, export_openapi
from .settings import IngestSettings


def metric_sink(settings: IngestSettings) -> CopySink[MetricRow]:
    """The writer of `metric_points`, bounded and batched as the span sink is (the same
    AIOPS_TELEMETRY_* settings); it applies the telemetry migrations on connecting, so the
    table is there whichever sink connects first."""

    async def connect() -> asyncpg.Connection:
        conn: asyncpg.Connection = await asyncpg.connect(
            settings.database_url.get_secret_value(),
            password=settings.database_password_value(),
            timeout=5,
        )
        return conn

    async def migrate(conn: asyncpg.Connection) -> None:
        await apply_migrations(conn, component="telemetry", package="aiops_telemetry")

    return CopySink(
        connect,
        on_connect=migrate,
        table="metric_points",
        columns=METRIC_COLUMNS,
        max_buffered=settings.telemetry_max_buffered,
        batch_size=settings.telemetry_batch_size,
        flush_interval=settings.telemetry_flush_interval,
    )


class MetricsReceiver:
    """Counts the data points it took, and those it refused by reason."""

    def __init__(self, receiver: Receiver, sink: CopySink[MetricRow]) -> None:
        self._receiver = receiver
        self.sink = sink
        self.accepted_points = 0
        self.rejected: Counter[str] = Counter()

    def counts(self) -> MetricCounts:
        """What `/health` reports of metrics."""
        return MetricCounts(
            accepted=self.accepted_points,
            rejected=self.rejected.total(),
            rejected_by_reason=dict(sorted(self.rejected.items())),
            sink=self.sink.stats(),
        )

    async def export(self, request: Request) -> Response:
        body, protobuf = await self._receiver.read(request)
        metrics = self._decode(body, protobuf=protobuf)
        self._receiver.take(self.sink, metrics.rows, "metric rows")
        self.accepted_points += metrics.accepted
        self.rejected.update(metrics.reasons)
        return _answer(metrics, protobuf=protobuf)

    def _decode(self, body: bytes, *, protobuf: bool) -> OtlpMetrics:
        try:
            if protobuf:
                request = decode_metrics_proto(body)
            else:
                document = self._receiver.json_object(body, "ExportMetricsServiceRequest")
                request = decode_metrics_json(document)
        except OtlpDecodeError as exc:
            self._receiver.refuse(400, str(exc))
        return rows_from_metrics_request(request)


def _answer(metrics: OtlpMetrics, *, protobuf: bool) -> Response:
    """ExportMetricsServiceResponse in the request's encoding; partial_success when due."""
    answer = ExportMetricsServiceResponse()
    if metrics.rejected or metrics.errors:
        answer.partial_success.CopyFrom(
            ExportMetricsPartialSuccess(
                rejected_data_points=metrics.rejected, error_message="; ".join(metrics.errors)
            )
        )
    return encoded(answer, protobuf=protobuf)


def metrics_router(receiver: MetricsReceiver) -> APIRouter:
    router = APIRouter()

    @router.post(
        "/v1/metrics",
        tags=["otlp"],
        **export_openapi(
            "ExportMetricsServiceRequest", "resourceMetrics", ExportMetricsAnswer, "row"
        ),
    )
    async def export(request: Request) -> Response:
        """OTLP/HTTP metric export (protobuf or JSON, optionally gzip); OTLP 1.x semantics.
        Data points that cannot be stored (a NaN, no name, an exponential histogram, ...)
        are left out and counted; the rest of the request is taken."""
        return await receiver.export(request)

    return router
