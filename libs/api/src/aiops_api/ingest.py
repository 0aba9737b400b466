"""The OTLP receiver's HTTP API: `/health`, and the JSON answer to `POST /v1/traces`."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, PlainSerializer, WithJsonSchema
from pydantic.alias_generators import to_camel

from .common import ApiModel, SinkStatus

__all__ = ["ExportTraceAnswer", "IngestHealth", "PartialSuccess", "SpanCounts"]


class SpanCounts(ApiModel):
    accepted: int  # handed to the sink
    rejected: int  # refused one by one (no trace id, ...), the rest of their request kept


class IngestHealth(ApiModel):
    """Liveness, the sink's state, and what the receiver took and refused."""

    service: str
    version: str
    status: Literal["ok", "degraded"]  # degraded: the sink cannot write (retrying or closed)
    telemetry: SinkStatus
    spans: SpanCounts
    refused_requests: dict[str, int]  # by HTTP status: {"415": 2}


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
