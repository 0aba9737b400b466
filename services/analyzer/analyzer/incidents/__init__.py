"""Incidents: one per real problem, naming where it started, stored in Redis with a TTL.

The rules (pure functions) and the model live in `aiops_engine.incidents`;
here `store` keeps incidents in Redis, `history` appends every change to
PostgreSQL, `notify` posts to webhooks, and `desk` ties them together for the
analysis loop.
"""

from .desk import DeskStats, IncidentDesk
from .notify import Notifier, WebhookTarget, parse_targets
from .store import IncidentStore

__all__ = [
    "DeskStats",
    "IncidentDesk",
    "IncidentStore",
    "Notifier",
    "WebhookTarget",
    "parse_targets",
]
