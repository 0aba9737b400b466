"""GET /incidents, /incidents/{id}; POST .../acknowledge, .../resolve.

An incident is the engine's own `Incident` (the document stored in Redis), served as is.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import TypeAdapter

from aiops_api.common import ApiModel
from aiops_engine.incidents import EventKind, Incident, Severity, Status

INCIDENTS: TypeAdapter[list[Incident]] = TypeAdapter(list[Incident])


class HistoryEntry(ApiModel):
    """One change to an incident, as the history table in PostgreSQL keeps it."""

    incident_id: str
    at: datetime
    event: EventKind
    status: Status
    severity: Severity
    root_service: str
    root_endpoint: str | None
    detail: str


class IncidentDetail(ApiModel):
    """One incident and its history; once expired from Redis, the history alone."""

    incident: Incident | None
    expired: bool
    history: list[HistoryEntry]  # oldest first
