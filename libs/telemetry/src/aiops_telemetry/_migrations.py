"""Versioned SQL migrations, applied automatically and idempotently at start.

Each component (`telemetry`, `inventory`, …) ships numbered files
`migrations/NNNN_name.sql` inside its package. Every file is itself
idempotent (`IF NOT EXISTS`), so a user can also apply it by hand with
`psql -f`. `schema_migrations` records what has been applied; an advisory
lock keeps services that start together from racing each other.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from importlib.resources import files

from ._db import Connection

logger = logging.getLogger("aiops_telemetry.migrations")

_FILE_RE = re.compile(r"(\d{4})_([a-z0-9_]+)\.sql")
_LOCK_KEY = 0x41494F5053  # "AIOPS": one lock for every component's migrations

_BOOKKEEPING = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    component  text        NOT NULL,
    version    integer     NOT NULL,
    name       text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (component, version)
)
"""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def load_migrations(package: str) -> list[Migration]:
    """The migrations shipped in `<package>/migrations`, in version order."""
    found = []
    for entry in files(package).joinpath("migrations").iterdir():
        match = _FILE_RE.fullmatch(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    return sorted(found, key=lambda m: m.version)


async def apply_migrations(conn: Connection, *, component: str, package: str) -> list[int]:
    """Apply `package`'s pending migrations under `component`; returns the versions applied."""
    migrations = load_migrations(package)
    applied: list[int] = []
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
        await conn.execute(_BOOKKEEPING)
        done = {
            row["version"]
            for row in await conn.fetch(
                "SELECT version FROM schema_migrations WHERE component = $1", component
            )
        }
        for migration in migrations:
            if migration.version in done:
                continue
            await conn.execute(migration.sql)
            await conn.execute(
                "INSERT INTO schema_migrations (component, version, name) VALUES ($1, $2, $3)",
                component,
                migration.version,
                migration.name,
            )
            applied.append(migration.version)
    if applied:
        logger.info("applied %s migrations %s", component, applied)
    return applied
