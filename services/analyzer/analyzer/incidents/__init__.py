"""Incidents: one per real problem, naming where it started, stored in Redis with a TTL.

`lifecycle` holds the rules as pure functions; `store` keeps incidents in
Redis, `history` appends every change to PostgreSQL, `notify` posts to
webhooks, and `desk` ties them together for the analysis loop.
"""

from .desk import DeskStats, IncidentDesk
from .lifecycle import IncidentPolicy, TransitionError
from .model import EventKind, Incident, IncidentEvent, Severity, Status
from .notify import Notifier, WebhookTarget, parse_targets
from .store import IncidentStore

__all__ = [
    "DeskStats",
    "EventKind",
    "Incident",
    "IncidentDesk",
    "IncidentEvent",
    "IncidentPolicy",
    "IncidentStore",
    "Notifier",
    "Severity",
    "Status",
    "TransitionError",
    "WebhookTarget",
    "parse_targets",
]
