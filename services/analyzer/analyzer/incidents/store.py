"""Live incidents in Redis: `incident:<id>` holds the JSON document, with a TTL.

The TTL (default one hour) is refreshed while an incident is open, so a
resolved incident expires an hour after it was resolved; its history stays
in PostgreSQL. A sorted set `incidents` indexes the ids by opening time, for
listing; ids whose document has expired are pruned from it when listed.

Every change is a compare-and-set (WATCH/MULTI/EXEC): the analyzer loop and
an API request acknowledging the same incident on another replica cannot
overwrite each other.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import cast

import pydantic
from redis.asyncio import Redis
from redis.exceptions import WatchError

from aiops_engine.incidents.model import Incident, Status

logger = logging.getLogger("analyzer.incidents")

INDEX = "incidents"


def incident_key(incident_id: str) -> str:
    return f"incident:{incident_id}"


class IncidentStore:
    def __init__(self, redis: Redis, *, ttl_s: float) -> None:
        self._redis = redis
        self._ttl_ms = int(ttl_s * 1000)

    async def ping(self) -> None:
        await self._redis.ping()

    async def create(self, incident: Incident) -> bool:
        """Store a new incident; False (and nothing written) if its id is taken."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(
                incident_key(incident.id), incident.model_dump_json(), px=self._ttl_ms, nx=True
            )
            pipe.zadd(INDEX, {incident.id: incident.opened_at.timestamp()})
            created, _ = await pipe.execute()
        if not created:
            await self._redis.zadd(INDEX, {incident.id: incident.opened_at.timestamp()})
        return bool(created)

    async def get(self, incident_id: str) -> Incident | None:
        return _parse(incident_id, await self._redis.get(incident_key(incident_id)))

    async def list(self, status: Status | None = None, *, limit: int = 1000) -> list[Incident]:
        """Incidents still in Redis, newest first, optionally of one status."""
        members = cast("list[bytes]", await self._redis.zrevrange(INDEX, 0, -1))
        ids = [_text(i) for i in members]
        if not ids:
            return []
        documents = await self._redis.mget([incident_key(i) for i in ids])
        expired = [i for i, raw in zip(ids, documents, strict=True) if raw is None]
        if expired:
            await self._redis.zrem(INDEX, *expired)
        incidents = [
            incident
            for i, raw in zip(ids, documents, strict=True)
            if (incident := _parse(i, raw)) is not None
        ]
        if status is not None:
            incidents = [i for i in incidents if i.status is status]
        return incidents[:limit]

    async def update(
        self, incident_id: str, change: Callable[[Incident], Incident]
    ) -> tuple[Incident, Incident] | None:
        """Apply `change` to the stored incident atomically; (before, after), or None if gone.

        `change` may run more than once (when another writer got in between)
        and may raise to refuse the change; nothing is written then.
        """
        key = incident_key(incident_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key)
                    before = _parse(incident_id, await pipe.get(key))
                    if before is None:
                        return None
                    after = change(before)
                    if after == before:
                        return before, after  # leaving the pipeline unwatches
                    pipe.multi()  # type: ignore[no-untyped-call]  # redis-py leaves it untyped
                    pipe.set(key, after.model_dump_json(), px=self._ttl_ms)
                    await pipe.execute()
                    return before, after
                except WatchError:
                    continue  # someone else changed it: read again, apply again

    async def refresh(self, incidents: Iterable[Incident]) -> None:
        """Restart the TTL of every incident not yet resolved."""
        keys = [incident_key(i.id) for i in incidents if i.status is not Status.RESOLVED]
        if not keys:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.pexpire(key, self._ttl_ms)
            await pipe.execute()

    async def ttl_s(self, incident_id: str) -> float | None:
        """Seconds until the incident expires, None if it is gone (for tests and /health)."""
        ms = await self._redis.pttl(incident_key(incident_id))
        return ms / 1000 if ms >= 0 else None


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _parse(incident_id: str, raw: bytes | str | None) -> Incident | None:
    if raw is None:
        return None
    try:
        return Incident.model_validate_json(raw)
    except pydantic.ValidationError as exc:
        # Written by an incompatible version: skip it, say so, keep working.
        logger.error("incident %s in Redis is unreadable, ignoring it: %s", incident_id, exc)
        return None
