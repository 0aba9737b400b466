"""The OTLP receiver's HTTP API: `/health`, and the JSON answers to `POST /v1/traces` and
`POST /v1/metrics`."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, PlainSerializer, WithJsonSchema
from pydantic.alias_generators import to_camel

from .common import ApiModel, SinkStatus

__all__ = [
    "ExportMetricsAnswer",
    "ExportTraceAnswer",
    "IngestHealth",
    "MetricCounts",
    "MetricsPartialSuccess",
    "PartialSuccess",
    "SpanCounts",
]


class SpanCounts(ApiModel):
    accepted: int  # handed to the sink
    rejected: int  # refused one by one (no trace id, ...), the rest of their request kept


class MetricCounts(ApiModel):
    """OTLP metric data points taken and refused, and the sink that writes `metric_points`."""

    accepted: int  # data points handed to the sink (a delta histogram is up to four rows)
    rejected: int  # refused one by one (a NaN, no name, ...), the rest of their request kept
    rejected_by_reason: dict[str, int]  # {"non_finite": 2}; docs/otlp.md lists the reasons
    sink: SinkStatus


class IngestHealth(ApiModel):
    """Liveness, the sinks' state, and what the receiver took and refused."""

    service: str
    version: str
    status: Literal["ok", "degraded"]  # degraded: a sink cannot write (retrying or closed)
    telemetry: SinkStatus
    spans: SpanCounts
    metrics: MetricCounts
    refused_requests: dict[str, int]  # whole requests, either route, by HTTP status: {"415": 2}


# OTLP/JSON writes an int64 as a decimal string (the protobuf JSON mapping); read either form.
Int64 = Annotated[
    int,
    PlainSerializer(str, return_type=str, when_used="json"),
    WithJsonSchema({"anyOf": [{"type": "integer"}, {"type": "string", "pattern": "^-?\\d+$"}]}),
]


class _Otlp(ApiModel):
    """OTLP/JSON spells fields in lowerCamelCase and leaves out those at their default."""

    model_config = ConfigDict(
        alias_generator=to_camel, validate_by_name=True, serialize_by_alias=True
    )


class PartialSuccess(_Otlp):
    rejected_spans: Int64 = 0
    error_message: str = ""  # the reasons, "; "-separated


class ExportTraceAnswer(_Otlp):
    """ExportTraceServiceResponse: empty when every span was taken."""

    partial_success: PartialSuccess | None = None


class MetricsPartialSuccess(_Otlp):
    rejected_data_points: Int64 = 0
    error_message: str = ""  # the reasons, "; "-separated


class ExportMetricsAnswer(_Otlp):
    """ExportMetricsServiceResponse: empty when every data point was taken."""

    partial_success: MetricsPartialSuccess | None = None
