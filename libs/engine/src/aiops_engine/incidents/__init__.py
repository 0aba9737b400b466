"""Incident rules as pure functions: open, absorb, resolve; the incident model.

Storage (Redis), history (PostgreSQL), webhooks and the desk that ties them
together stay in the analyzer service.
"""

from .lifecycle import IncidentPolicy, TransitionError
from .model import EventKind, Incident, IncidentEvent, RootCause, Severity, Status

__all__ = [
    "EventKind",
    "Incident",
    "IncidentEvent",
    "IncidentPolicy",
    "RootCause",
    "Severity",
    "Status",
    "TransitionError",
]
