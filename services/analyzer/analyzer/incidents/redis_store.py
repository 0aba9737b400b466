"""Live incidents in Redis: `incident:<id>` holds the JSON document, with a TTL.

The TTL (default one hour) is refreshed while an incident is open, so a
resolved incident expires an hour after it was resolved; its history stays
in PostgreSQL. A sorted set `incidents` indexes the ids by opening time, for
listing; ids whose document has expired are pruned from it when listed.

Every change is a compare-and-set (WATCH/MULTI/EXEC): the analyzer loop and
an API request acknowledging the same incident on another replica cannot
overwrite each other. The leader's writes carry its fence: the same
transaction watches the leader token counter and is refused (FencedOut, not
retried) once a newer leader has drawn a token.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any, cast

import pydantic
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import WatchError

from aiops_engine.incidents.model import Incident, Status
from analyzer.leader import TOKEN_KEY, Fence, FencedOut

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

    async def create(self, incident: Incident, *, fence: Fence | None = None) -> bool:
        """Store a new incident; False (and nothing written) if its id is taken."""

        def queue(pipe: Pipeline) -> None:
            pipe.set(
                incident_key(incident.id), incident.model_dump_json(), px=self._ttl_ms, nx=True
            )
            pipe.zadd(INDEX, {incident.id: incident.opened_at.timestamp()})

        created, _ = await self._fenced(fence, queue)
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
        self,
        incident_id: str,
        change: Callable[[Incident], Incident],
        *,
        fence: Fence | None = None,
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
                    await _check(pipe, fence)
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

    async def refresh(self, incidents: Iterable[Incident], *, fence: Fence | None = None) -> None:
        """Restart the TTL of every incident not yet resolved."""
        keys = [incident_key(i.id) for i in incidents if i.status is not Status.RESOLVED]
        if not keys:
            return

        def queue(pipe: Pipeline) -> None:
            for key in keys:
                pipe.pexpire(key, self._ttl_ms)

        await self._fenced(fence, queue)

    async def _fenced(
        self, fence: Fence | None, queue: Callable[[Pipeline], None]
    ) -> Sequence[Any]:
        """The commands `queue` adds, in one MULTI/EXEC that a stale `fence` refuses."""
        async with self._redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await _check(pipe, fence)
                    pipe.multi()  # type: ignore[no-untyped-call]  # redis-py leaves it untyped
                    queue(pipe)
                    return await pipe.execute()
                except WatchError:
                    continue  # a token was drawn since the check: check again

    async def ttl_s(self, incident_id: str) -> float | None:
        """Seconds until the incident expires, None if it is gone (for tests and /health)."""
        ms = await self._redis.pttl(incident_key(incident_id))
        return ms / 1000 if ms >= 0 else None


async def _check(pipe: Pipeline, fence: Fence | None) -> None:
    """Watch the leader token counter and refuse a `fence` it has moved past.

    A token drawn between this check and EXEC fails the EXEC (WatchError),
    and the caller's retry then meets this check again. A counter that is
    gone or behind (Redis restarted empty, or from an older snapshot) is no
    newer leader: the findings queued through the outage are written, and
    the heartbeat draws a token past it (LeaderLock.reissue).
    """
    if fence is None:
        return
    await pipe.watch(TOKEN_KEY)
    raw = await pipe.get(TOKEN_KEY)
    current = None if raw is None else int(raw)
    if current is not None and current > fence.token:
        raise FencedOut(fence, current, "Redis")


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
