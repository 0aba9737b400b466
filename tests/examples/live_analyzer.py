"""The analyzer as a real process on the session's PostgreSQL and Redis, with short windows,
for tests that watch live traffic become incidents (the example app, export → replay)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import asyncpg
import httpx

from aiops_telemetry import apply_migrations
from tests.support.polling import eventually

# One-second windows, a baseline after five of them: an incident in seconds, not minutes.
FAST_ANALYSIS = {
    "AIOPS_ANALYSIS_INTERVAL": "1",
    "AIOPS_INGEST_LAG": "0.5",
    "AIOPS_BASELINE_MIN_WINDOWS": "5",
    "AIOPS_LEADER_TTL": "3",
}


def analyzer_env(database_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    return {
        "AIOPS_DATABASE_URL": database_url,
        "AIOPS_PARTITION_MAINTENANCE": "false",  # the session database is shared
        "AIOPS_REDIS_URL": redis_url,
        **FAST_ANALYSIS,
        **extra,
    }


async def forget_learned_state(database_url: str) -> None:
    """A first start: no baselines, graph or progress left by other tests' analyzers."""
    conn = await asyncpg.connect(database_url)
    try:
        # The analyzer's views read `telemetry`: a fresh database needs it first.
        await apply_migrations(conn, component="telemetry", package="aiops_telemetry")
        await apply_migrations(conn, component="analyzer", package="analyzer")
        await conn.execute("TRUNCATE analyzer_baselines, analyzer_progress, analyzer_dependencies")
    finally:
        await conn.close()


async def established(client: httpx.AsyncClient, analyzer: str, service: str, target: str) -> None:
    """Wait until the analyzer has an established baseline for `service target`."""

    async def probe() -> bool:
        learned = (await client.get(f"{analyzer}/baselines")).json()
        return any(
            b["service"] == service and b["target"] == target and b["established"] for b in learned
        )

    await eventually(probe, within=60, what=f"an established baseline of {service} {target}")


async def open_incident(
    client: httpx.AsyncClient, analyzer: str, matches: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    """The first open incident that `matches`, once the analyzer has opened it."""

    async def probe() -> dict[str, Any] | None:
        found = (await client.get(f"{analyzer}/incidents", params={"status": "open"})).json()
        return next((i for i in found if matches(i)), None)

    try:
        return await eventually(probe, within=60, what="an open incident")
    except AssertionError as exc:
        incidents = (await client.get(f"{analyzer}/incidents")).json()
        anomalies = (await client.get(f"{analyzer}/anomalies", params={"minutes": 2})).json()
        summary = [(i["root_cause"], i["explanation"]) for i in incidents]
        recent = anomalies["recent"]
        raise AssertionError(f"{exc}; incidents {summary}; anomalies {recent}") from exc
