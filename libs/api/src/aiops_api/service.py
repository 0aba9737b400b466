"""What every shop service's `GET /health` answers (the service kit's, `aiops_telemetry`)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .common import ApiModel, SinkStatus

__all__ = ["ServiceHealth"]


class ServiceHealth(ApiModel):
    """Liveness, version, the service's checks and its telemetry sink (always 200: `status`
    says whether all is well)."""

    service: str
    version: str
    status: Literal["ok", "degraded"]  # degraded: a check failed, or the sink cannot write
    checks: dict[str, str] = Field(description='each check\'s result: "ok", or what is wrong')
    telemetry: SinkStatus
