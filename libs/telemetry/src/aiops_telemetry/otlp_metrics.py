"""OTLP metrics as `metric_points` rows: the mapping behind ingest's `POST /v1/metrics`.

Pure and typed, no I/O. An `ExportMetricsServiceRequest` in protobuf, or in
OTLP/JSON (read into the same protobuf message, so both encodings give the
same rows), becomes rows named by series (`metric_rows`):

- a gauge, and a sum that is not monotonic (an up-down counter): its value;
- a monotonic delta sum: its value per second of its interval (`.rate`);
- a monotonic cumulative sum: its running total as sent (kind `cumulative`),
  which the analyzer turns into a rate from consecutive points: the receiver
  keeps no state, so any number of replicas may take a sender's exports;
- an explicit-bucket histogram, delta: its count, mean, p50 and p95 (`histograms`);
  cumulative: its running state as sent (kind `histogram`), summarised per
  interval by the analyzer likewise.

Nothing here raises on its input: a data point that cannot be stored is left
out and counted under a reason (REASONS), never the rest of its request.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from google.protobuf.json_format import ParseDict, ParseError
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.common.v1.common_pb2 import KeyValue
from opentelemetry.proto.metrics.v1.metrics_pb2 import (
    AggregationTemporality,
    HistogramDataPoint,
    Metric,
    NumberDataPoint,
)

from . import _otlp_values as values
from .histograms import histogram_values
from .metric_rows import CUMULATIVE, GAUGE, HISTOGRAM, RATE, MetricRow, metric_row, series_name
from .otlp import OtlpDecodeError, _errors, _service_name

__all__ = [
    "REASONS",
    "OtlpMetrics",
    "decode_metrics_json",
    "decode_metrics_proto",
    "rows_from_metrics_request",
]

# Why a data point was refused: the key /health counts it under, and what the sender is told.
REASONS: Mapping[str, str] = {
    "non_finite": "a non-finite value (NaN or infinity)",
    "missing_name": "a metric without a name",
    "unsupported_type": "exponential histograms and summaries are not supported",
    "no_temporality": "aggregationTemporality unspecified",
    "bad_time": "timeUnixNano missing or out of range",
    "no_interval": "a delta sum whose startTimeUnixNano is not before its timeUnixNano",
    "no_value": "a data point without a value (or flagged as having none)",
    "bad_histogram": (
        "a histogram whose bucketCounts are not one more than its increasing, finite "
        "explicitBounds, or do not add up to its count"
    ),
}
MAX_NAME = 255  # characters of a metric name (the API's own limit)
MAX_UNIT = 63  # characters of a unit
_MAX_NANOS = 2**63 - 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NO_RECORDED_VALUE = 1  # DataPointFlags.DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK
_DELTA = AggregationTemporality.AGGREGATION_TEMPORALITY_DELTA
_CUMULATIVE = AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE


@dataclass(frozen=True)
class OtlpMetrics:
    """The rows of one request, and what was left out of it and why."""

    rows: list[MetricRow]
    accepted: int  # data points turned into rows (a delta histogram gives up to four)
    rejected: int  # data points left out
    reasons: Counter[str]  # rejected data points by REASONS key
    errors: list[str]  # short messages, each once, for the sender's partial success


def decode_metrics_proto(body: bytes) -> ExportMetricsServiceRequest:
    """Parse a protobuf request; OtlpDecodeError when it is not one."""
    request = ExportMetricsServiceRequest()
    try:
        request.ParseFromString(body)
    except (DecodeError, RecursionError, ValueError) as exc:
        raise OtlpDecodeError(f"not a protobuf ExportMetricsServiceRequest ({exc})") from None
    return request


def decode_metrics_json(document: dict[str, Any]) -> ExportMetricsServiceRequest:
    """An OTLP/JSON request (a parsed JSON object; camelCase or snake_case, int64 as strings
    or numbers, enums as numbers or names) as the protobuf message; OtlpDecodeError when the
    object is not one."""
    request = ExportMetricsServiceRequest()
    try:
        ParseDict(document, request, ignore_unknown_fields=True)
    except (ParseError, RecursionError, TypeError, ValueError) as exc:
        detail = str(exc)[:300]
        raise OtlpDecodeError(f"not an OTLP/JSON ExportMetricsServiceRequest ({detail})") from None
    return request


def rows_from_metrics_request(request: ExportMetricsServiceRequest) -> OtlpMetrics:
    """The rows of a parsed request, and its refusals."""
    mapper = _Mapper()
    for resource_metrics in request.resource_metrics:
        service = _service_name(_service_attribute(resource_metrics.resource.attributes))
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                mapper.metric(service, metric)
    return OtlpMetrics(
        rows=mapper.rows,
        accepted=mapper.accepted,
        rejected=sum(mapper.reasons.values()),
        reasons=mapper.reasons,
        errors=_errors(mapper.notes),
    )


def _service_attribute(attributes: Sequence[KeyValue]) -> Any:
    for kv in attributes:
        if kv.key == "service.name":
            return values.proto_value(kv.value, 0)
    return None


class _Mapper:
    def __init__(self) -> None:
        self.rows: list[MetricRow] = []
        self.accepted = 0
        self.reasons: Counter[str] = Counter()
        self.notes: Counter[str] = Counter()  # messages: reasons, and notes on no point

    def refuse(self, reason: str, points: int = 1) -> None:
        if points:
            self.reasons[reason] += points
            self.notes[REASONS[reason]] += points

    def metric(self, service: str, metric: Metric) -> None:
        which = metric.WhichOneof("data")
        if which is None:
            self.notes["a metric without data (no gauge, sum or histogram)"] += 1
            return None
        points: Sequence[Any] = getattr(metric, which).data_points
        name = values.bounded(values.clean(metric.name), MAX_NAME)
        if not name:
            return self.refuse("missing_name", len(points))
        if which in ("exponential_histogram", "summary"):
            return self.refuse("unsupported_type", len(points))
        unit = values.bounded(values.clean(metric.unit), MAX_UNIT)
        if which == "gauge":
            for point in points:
                self.number(service, name, unit, point, GAUGE)
            return None
        temporality = getattr(metric, which).aggregation_temporality
        if which == "sum" and not metric.sum.is_monotonic:
            kind = GAUGE  # an up-down counter: its value is the level
        elif temporality not in (_DELTA, _CUMULATIVE):
            return self.refuse("no_temporality", len(points))
        elif which == "sum":
            kind = RATE if temporality == _DELTA else CUMULATIVE
        else:
            for point in points:
                self.histogram(service, name, unit, point, delta=temporality == _DELTA)
            return None
        for point in points:
            self.number(service, name, unit, point, kind)
        return None

    def number(self, service: str, name: str, unit: str, point: NumberDataPoint, kind: str) -> None:
        which = point.WhichOneof("value")
        if which is None or point.flags & _NO_RECORDED_VALUE:
            return self.refuse("no_value")
        value = float(point.as_double if which == "as_double" else point.as_int)
        if not math.isfinite(value):
            return self.refuse("non_finite")
        time = _time(point.time_unix_nano)
        if time is None:
            return self.refuse("bad_time")
        start = _time(point.start_time_unix_nano)
        start = start if start is not None and start <= time else None
        if kind == RATE:
            if start is None or start >= time:
                return self.refuse("no_interval")
            value /= (time - start).total_seconds()
        attributes = values.proto_attributes(_at_most(point.attributes))
        self.rows.append(
            metric_row(
                time=time,
                series=series_name(service, name, attributes, kind),
                service=service,
                name=name,
                kind=kind,
                value=value,
                unit=unit,
                attributes=values.attributes_json(attributes),
                start_time=start if kind == CUMULATIVE else None,
            )
        )
        self.accepted += 1
        return None

    def histogram(
        self, service: str, name: str, unit: str, point: HistogramDataPoint, *, delta: bool
    ) -> None:
        if point.flags & _NO_RECORDED_VALUE:
            return self.refuse("no_value")
        bounds = list(point.explicit_bounds)
        if not _valid_buckets(bounds, point.bucket_counts, point.count):
            return self.refuse("bad_histogram")
        counts = [float(n) for n in point.bucket_counts]
        total = point.sum if point.HasField("sum") else None
        low = point.min if point.HasField("min") else None
        high = point.max if point.HasField("max") else None
        if any(v is not None and not math.isfinite(v) for v in (total, low, high)):
            return self.refuse("non_finite")
        time = _time(point.time_unix_nano)
        if time is None:
            return self.refuse("bad_time")
        start = _time(point.start_time_unix_nano)
        attributes = values.proto_attributes(_at_most(point.attributes))
        labels = values.attributes_json(attributes)
        if not delta:  # the running state as sent: summarised per interval when read
            self.rows.append(
                metric_row(
                    time=time,
                    series=series_name(service, name, attributes),
                    service=service,
                    name=name,
                    kind=HISTOGRAM,
                    value=float(point.count),
                    unit=unit,
                    attributes=labels,
                    start_time=start if start is not None and start <= time else None,
                    total=total,
                    bounds=bounds,
                    bucket_counts=counts or [float(point.count)],
                )
            )
            self.accepted += 1
            return None
        for kind, value in histogram_values(point.count, total, bounds, counts, low=low, high=high):
            self.rows.append(
                metric_row(
                    time=time,
                    series=series_name(service, name, attributes, kind),
                    service=service,
                    name=name,
                    kind=kind,
                    value=value,
                    unit=unit,
                    attributes=labels,
                )
            )
        self.accepted += 1
        return None


def _valid_buckets(bounds: list[float], counts: Sequence[int], count: int) -> bool:
    """One more count than bounds (or neither), bounds finite and increasing, counts adding
    up to the count."""
    if not counts:
        return not bounds
    if len(counts) != len(bounds) + 1 or sum(counts) != count:
        return False
    return all(map(math.isfinite, bounds)) and all(a < b for a, b in itertools.pairwise(bounds))


def _time(nanos: int) -> datetime | None:
    """A point's time (to the µs); None when missing (0) or beyond int64."""
    if not 0 < nanos <= _MAX_NANOS:
        return None
    return _EPOCH + timedelta(microseconds=nanos // 1000)


def _at_most(attributes: Sequence[KeyValue]) -> Sequence[KeyValue]:
    if len(attributes) <= values.MAX_ATTRIBUTES:
        return attributes
    return attributes[: values.MAX_ATTRIBUTES]
