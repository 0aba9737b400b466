"""The database roles the analyzer manages: the read-only login dashboards use."""

from __future__ import annotations

from aiops_telemetry import Connection

READER_ROLE = "aiops_reader"  # created, without a login, by migrations/0005_reader_role.sql


async def enable_reader_login(conn: Connection, password: str) -> None:
    """Let `aiops_reader` log in with `password` (set again at every start).

    ALTER ROLE takes no bind parameters, so the server quotes the password
    itself (`format('%L')`) rather than this code splicing it into SQL.
    """
    statement: str = await conn.fetchval(
        "SELECT format('ALTER ROLE %I LOGIN PASSWORD %L', $1::text, $2::text)",
        READER_ROLE,
        password,
    )
    await conn.execute(statement)
