"""What every service's API shares: the error bodies, and the telemetry sink's state."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

__all__ = ["ApiModel", "ErrorDetail", "FieldError", "SinkStatus", "ValidationErrors", "error"]


class ApiModel(BaseModel):
    """A response body: immutable once parsed. Unknown fields are ignored, so a tool keeps
    reading an analyzer newer than itself."""

    model_config = ConfigDict(frozen=True)


class ErrorDetail(ApiModel):
    """FastAPI's error body (`HTTPException`): one sentence that says what to do next."""

    detail: str


class FieldError(ApiModel):
    """One entry of FastAPI's 422 body: where in the request (`loc`) and what is wrong."""

    loc: tuple[str | int, ...]
    msg: str


class ValidationErrors(ApiModel):
    """FastAPI's own 422 body (`HTTPValidationError` in the OpenAPI documents), as a reader
    parses it: the request's invalid parameters or fields."""

    detail: tuple[FieldError, ...]


def error(status: int, meaning: str) -> dict[int | str, dict[str, Any]]:
    """`responses={...}` entries for a route: `status`, its body and what it means there."""
    return {status: {"model": ErrorDetail, "description": meaning}}


class SinkStatus(ApiModel):
    """What a service's telemetry sink reports in `/health`: buffered, written, dropped."""

    state: Literal["ok", "retrying", "closed"]
    buffered: int
    written: int
    dropped: int
    failed_flushes: int
    max_buffered: int
    last_flush_at: datetime | None
    last_flush_error: str | None
    last_flush_error_at: datetime | None
