"""The chaos API every shop service mounts (`/simulate`, guarded by `X-Chaos-Token`): its
answers. A refusal (401, 403, 404) is `common.ErrorDetail`."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from .common import ApiModel

__all__ = ["FaultCreated", "FaultKind", "FaultList", "FaultView", "FaultsRemoved"]


class FaultKind(StrEnum):
    DELAY = "delay"  # wait, then serve the request
    ERROR = "error"  # answer with an error status instead of serving
    HANG = "hang"  # hold the request unanswered until the fault expires
    EXCEPTION = "exception"  # serve the request as usual, its span failed by an exception


class FaultView(ApiModel):
    """An active fault."""

    id: str
    kind: FaultKind
    endpoint: str  # a path, a route template (`/inventory/{sku}`), or `*`
    rate: float  # share of matching requests affected, 0 < rate <= 1
    duration_ms: float  # delay
    jitter_ms: float  # delay: uniform ± around duration_ms
    status: int  # error
    created_at: datetime
    expires_at: datetime


class FaultCreated(ApiModel):
    """`POST /simulate/{kind}` (201): the fault now active on `service`."""

    service: str
    fault: FaultView


class FaultList(ApiModel):
    """`GET /simulate`: the active faults, and the cap on any fault's ttl."""

    service: str
    max_ttl_s: float
    faults: list[FaultView]


class FaultsRemoved(ApiModel):
    """`DELETE /simulate` and `DELETE /simulate/{id}`: how many faults were removed."""

    service: str
    removed: int
