"""GET /health: liveness, this replica's role, PostgreSQL, Redis, and housekeeping."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from aiops_api.common import ApiModel


class DatabaseStatus(ApiModel):
    """Whether PostgreSQL answered a `SELECT 1` just now (within a second)."""

    status: Literal["ok", "unreachable"]
    error: str | None  # why it did not: the routes that read it answer 503 meanwhile


class RedisStatus(ApiModel):
    status: Literal["ok", "unreachable"]
    error: str | None  # why the last Redis operation failed
    pending_findings: int  # waiting for Redis
    dropped_findings: int  # pushed out of a full queue during a long outage
    failed_findings: int  # the incident rules raised on them (a bug: see the log)


class HistoryBacklog(ApiModel):
    """Incident changes waiting for PostgreSQL, and those dropped in a long outage."""

    pending: int
    dropped: int


class HousekeepingStatus(ApiModel):
    minutes_rolled_up: int
    partitions_created: int
    partitions_dropped: int
    evidence_spans_kept: int
    failures: int
    last_error: str | None


class AnalyzerHealth(ApiModel):
    """Liveness; whether cycles run, this replica's role, PostgreSQL, Redis, and
    housekeeping."""

    service: str
    status: Literal["ok", "degraded"]
    role: Literal["leader", "standby"]
    identity: str  # host:pid:random; the leader's is in Redis at analyzer:leader
    cycles: int
    last_cycle_at: datetime | None
    last_error: str | None
    fenced_writes: int  # writes refused: a newer leader had taken over
    baselines: int | None  # None until this replica has loaded its state
    database: DatabaseStatus
    redis: RedisStatus
    incident_history: HistoryBacklog
    housekeeping: HousekeepingStatus
