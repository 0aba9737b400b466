"""Incidents: one per real problem, naming where it started, stored in Redis with a TTL.

The rules (pure functions) and the model live in `aiops_engine.incidents`;
here `redis_store` keeps the live incidents in Redis, `notify` posts to
webhooks, and `desk` ties them together with the history in PostgreSQL
(`analyzer.store.incident_history`) for the analysis loop.
"""

from .desk import DeskStats, IncidentDesk
from .notify import Notifier, WebhookTarget, parse_targets
from .redis_store import IncidentStore

__all__ = [
    "DeskStats",
    "IncidentDesk",
    "IncidentStore",
    "Notifier",
    "WebhookTarget",
    "parse_targets",
]
