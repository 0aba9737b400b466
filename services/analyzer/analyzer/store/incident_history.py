"""The incident history table in PostgreSQL: every change, kept beyond Redis's TTL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aiops_engine.incidents.model import IncidentEvent
from aiops_telemetry import Connection

_APPEND_SQL = """
INSERT INTO analyzer_incident_history (
    incident_id, at, event, status, severity, root_service, root_endpoint,
    confidence, title, detail, incident
) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb)
"""

_HISTORY_SQL = """
SELECT incident_id, at, event, status, severity, root_service, root_endpoint, detail
FROM analyzer_incident_history
WHERE incident_id = $1
ORDER BY at, id
"""


async def append(conn: Connection, events: Sequence[IncidentEvent]) -> None:
    """Append `events` in order, atomically (asyncpg runs executemany in one transaction)."""
    if not events:
        return
    await conn.executemany(
        _APPEND_SQL,
        [
            (
                e.incident.id,
                e.at,
                e.kind.value,
                e.incident.status.value,
                e.incident.severity.value,
                e.incident.root_cause.service,
                e.incident.root_cause.endpoint,
                e.incident.confidence,
                e.incident.title,
                e.detail,
                e.incident.model_dump_json(),
            )
            for e in events
        ],
    )


async def of_incident(conn: Connection, incident_id: str) -> list[dict[str, Any]]:
    """One incident's changes, oldest first."""
    return [dict(row) for row in await conn.fetch(_HISTORY_SQL, incident_id)]
