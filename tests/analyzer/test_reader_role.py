"""The read-only role dashboards log in as: it reads everything and can change nothing."""

from __future__ import annotations

import asyncpg
import pytest

from analyzer.roles import READER_ROLE, enable_reader_login


async def test_the_reader_can_select_but_never_write(
    conn: asyncpg.Connection, database_url: str
) -> None:
    await enable_reader_login(conn, "it's a 'quoted' secret")
    reader_url = database_url.replace(
        "aiops:aiops@", f"{READER_ROLE}:it%27s%20a%20%27quoted%27%20secret@"
    )
    reader: asyncpg.Connection = await asyncpg.connect(reader_url)
    try:
        await reader.fetchval("SELECT count(*) FROM telemetry")
        await reader.fetch("SELECT * FROM baselines LIMIT 1")
        await reader.fetch("SELECT * FROM open_incidents LIMIT 1")
        await reader.fetch("SELECT * FROM trace_tree('no-such-trace')")
        for statement in (
            "DELETE FROM telemetry",
            "UPDATE analyzer_baselines SET level_ms = 0",
            "DROP TABLE analyzer_incident_history",
            "CREATE TABLE mine (x int)",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await reader.execute(statement)
    finally:
        await reader.close()


async def test_the_reader_holds_no_write_privilege_on_any_table(conn: asyncpg.Connection) -> None:
    """Checked table by table, for tables created before and after the role."""
    writable = await conn.fetch(
        """
        SELECT c.relname, p.privilege
        FROM pg_class AS c
        CROSS JOIN unnest(ARRAY['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']) AS p (privilege)
        WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'v', 'p')
          AND has_table_privilege($1, c.oid, p.privilege)
        """,
        READER_ROLE,
    )
    readable = await conn.fetchval(
        "SELECT bool_and(has_table_privilege($1, c.oid, 'SELECT')) FROM pg_class AS c"
        " WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'v')",
        READER_ROLE,
    )
    assert writable == []
    assert readable is True
