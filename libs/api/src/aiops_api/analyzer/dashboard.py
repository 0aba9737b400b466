"""GET /latency: the dashboard's chart."""

from __future__ import annotations

from datetime import datetime

from aiops_api.common import ApiModel


class LatencyPoint(ApiModel):
    start: datetime
    count: int
    p50_ms: float


class LatencyBaseline(ApiModel):
    level_ms: float
    spread_ms: float
    windows: int
    established: bool
    threshold_ms: float | None  # once established: detection only judges from then


class EndpointLatency(ApiModel):
    key: str
    service: str
    endpoint: str
    points: list[LatencyPoint]
    baseline: LatencyBaseline | None


class Latency(ApiModel):
    since: datetime
    until: datetime
    bucket_s: float
    endpoints: list[EndpointLatency]
