from __future__ import annotations

from pydantic import Field

from aiops_telemetry import ServiceSettings

DEFAULT_OTLP_MAX_BODY_BYTES = 16 * 1024 * 1024


class IngestSettings(ServiceSettings):
    """`AIOPS_*` (or `AIOPS_*_FILE`); the sink's bound is AIOPS_TELEMETRY_MAX_BUFFERED."""

    service_name: str = "ingest"
    otlp_max_body_bytes: int = Field(
        DEFAULT_OTLP_MAX_BODY_BYTES,
        ge=1024,
        le=1024**3,
        description="largest request body, after decompression; larger ones get 413",
    )
    otlp_retry_after: int = Field(
        2, ge=1, le=300, description="seconds a sender is asked to wait when the buffer is full"
    )
