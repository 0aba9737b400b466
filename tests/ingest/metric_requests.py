"""OTLP metric requests for the tests: built as protobuf, and the same request in OTLP/JSON."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from google.protobuf.json_format import MessageToDict
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.metrics.v1.metrics_pb2 import (
    AggregationTemporality,
    Gauge,
    Histogram,
    HistogramDataPoint,
    Metric,
    NumberDataPoint,
    ResourceMetrics,
    ScopeMetrics,
    Sum,
)

from .otlp_requests import key_values

DELTA = AggregationTemporality.AGGREGATION_TEMPORALITY_DELTA
CUMULATIVE = AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE
SECOND = 1_000_000_000


def now_ns() -> int:
    return time.time_ns()


def number(
    value: float | int,
    *,
    at: int | None = None,
    start: int = 0,
    attributes: Mapping[str, Any] | None = None,
) -> NumberDataPoint:
    """A data point of `value` (an int travels as asInt) at `at` (ns; now by default)."""
    point = NumberDataPoint(
        time_unix_nano=at if at is not None else now_ns(),
        start_time_unix_nano=start,
        attributes=key_values(attributes or {}),
    )
    if isinstance(value, int):
        point.as_int = value
    else:
        point.as_double = value
    return point


def gauge(name: str, *points: NumberDataPoint, unit: str = "") -> Metric:
    return Metric(name=name, unit=unit, gauge=Gauge(data_points=points))


def total(
    name: str, *points: NumberDataPoint, monotonic: bool = True, temporality: int = CUMULATIVE
) -> Metric:
    """A sum (a counter, or an up-down counter when not `monotonic`)."""
    return Metric(
        name=name,
        sum=Sum(
            data_points=points,
            is_monotonic=monotonic,
            aggregation_temporality=temporality,  # type: ignore[arg-type]  # an int travels
        ),
    )


def buckets(
    bounds: Sequence[float],
    counts: Sequence[int],
    *,
    at: int | None = None,
    start: int = 0,
    total: float | None = None,
    low: float | None = None,
    high: float | None = None,
    attributes: Mapping[str, Any] | None = None,
) -> HistogramDataPoint:
    """A histogram data point; its count is the sum of `counts`."""
    point = HistogramDataPoint(
        time_unix_nano=at if at is not None else now_ns(),
        start_time_unix_nano=start,
        count=sum(counts),
        bucket_counts=counts,
        explicit_bounds=bounds,
        attributes=key_values(attributes or {}),
    )
    for field, value in (("sum", total), ("min", low), ("max", high)):
        if value is not None:
            setattr(point, field, value)
    return point


def histogram(name: str, *points: HistogramDataPoint, temporality: int = DELTA) -> Metric:
    return Metric(
        name=name,
        unit="ms",
        histogram=Histogram(
            data_points=points,
            aggregation_temporality=temporality,  # type: ignore[arg-type]  # an int travels
        ),
    )


def request(
    metrics_by_service: Mapping[str | None, Sequence[Metric]],
) -> ExportMetricsServiceRequest:
    """One ResourceMetrics per service (None: a resource without service.name)."""
    built = ExportMetricsServiceRequest()
    for service, metrics in metrics_by_service.items():
        resource = ResourceMetrics(scope_metrics=[ScopeMetrics(metrics=list(metrics))])
        if service is not None:
            resource.resource.attributes.extend(key_values({"service.name": service}))
        built.resource_metrics.append(resource)
    return built


def as_json(message: ExportMetricsServiceRequest) -> dict[str, Any]:
    """The request in OTLP/JSON (the protobuf JSON mapping: int64 as strings, camelCase)."""
    document: dict[str, Any] = MessageToDict(message, use_integers_for_enums=True)
    return document
