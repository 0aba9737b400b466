"""Incidents in a real Redis: TTL set and refreshed, compare-and-set updates, the index."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis

from aiops_engine.incidents import Incident, IncidentPolicy, Status
from aiops_engine.incidents.lifecycle import acknowledge, new_incident_id, open_incident
from analyzer.incidents import IncidentStore
from analyzer.incidents.redis_store import INDEX, incident_key
from analyzer.leader import LOCK_KEY, LeaderLock

from .findings import T0, later, payment_errors

TTL_S = 3600.0


def incident(token: str = "0001", at: float = 0.0) -> Incident:
    return open_incident(
        payment_errors(at),
        incident_id=new_incident_id(later(at), token),
        now=later(at),
        policy=IncidentPolicy(),
    )


async def test_an_incident_is_stored_at_incident_id_with_the_ttl(redis: Redis) -> None:
    store = IncidentStore(redis, ttl_s=TTL_S)
    new = incident()
    assert await store.create(new)
    assert await redis.exists(f"incident:{new.id}")
    ttl = await store.ttl_s(new.id)
    assert ttl is not None
    assert TTL_S - 5 < ttl <= TTL_S
    assert await store.get(new.id) == new


async def test_creating_an_id_twice_is_refused(redis: Redis) -> None:
    store = IncidentStore(redis, ttl_s=TTL_S)
    assert await store.create(incident())
    assert not await store.create(incident())


async def test_refresh_restarts_the_ttl_of_open_incidents_only(redis: Redis) -> None:
    store = IncidentStore(redis, ttl_s=TTL_S)
    live, done = incident("0001"), incident("0002").model_copy(update={"status": Status.RESOLVED})
    for item in (live, done):
        await store.create(item)
        await redis.pexpire(incident_key(item.id), 60_000)  # as if an hour had nearly passed
    await store.refresh([live, done])
    live_ttl, done_ttl = await store.ttl_s(live.id), await store.ttl_s(done.id)
    assert live_ttl is not None
    assert live_ttl > 60
    assert done_ttl is not None
    assert done_ttl <= 60


async def test_every_change_rewrites_the_ttl(redis: Redis) -> None:
    store = IncidentStore(redis, ttl_s=TTL_S)
    new = incident()
    await store.create(new)
    await redis.pexpire(incident_key(new.id), 60_000)
    await store.update(new.id, lambda i: acknowledge(i, now=later(1)))
    ttl = await store.ttl_s(new.id)
    assert ttl is not None
    assert ttl > 60


async def test_concurrent_updates_from_two_clients_are_all_applied(redis_url: str) -> None:
    """Compare-and-set: the loop and an API request on another replica never lose a write."""
    clients = [Redis.from_url(redis_url) for _ in range(2)]
    stores = [IncidentStore(c, ttl_s=TTL_S) for c in clients]
    new = incident()
    await stores[0].create(new)

    def bump(i: Incident) -> Incident:
        return i.model_copy(update={"reopen_count": i.reopen_count + 1, "version": i.version + 1})

    await asyncio.gather(*(stores[n % 2].update(new.id, bump) for n in range(40)))
    stored = await stores[0].get(new.id)
    assert stored is not None
    assert stored.reopen_count == 40
    for client in clients:
        await client.aclose()


async def test_update_of_an_expired_incident_returns_none(redis: Redis) -> None:
    store = IncidentStore(redis, ttl_s=TTL_S)
    assert await store.update("INC-gone", lambda i: i) is None


async def test_listing_prunes_expired_ids_and_filters_by_status(redis: Redis) -> None:
    store = IncidentStore(redis, ttl_s=TTL_S)
    first, second, third = incident("0001", 0), incident("0002", 10), incident("0003", 20)
    for item in (first, second, third):
        await store.create(item)
    await store.update(second.id, lambda i: acknowledge(i, now=later(11)))
    await redis.delete(incident_key(third.id))  # expired
    assert [i.id for i in await store.list()] == [second.id, first.id]  # newest first
    assert [i.id for i in await store.list(Status.ACKNOWLEDGED)] == [second.id]
    assert await redis.zscore(INDEX, third.id) is None


async def test_an_unreadable_document_is_skipped_not_fatal(
    redis: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    store = IncidentStore(redis, ttl_s=TTL_S)
    await store.create(incident())
    await redis.set("incident:INC-bad", b"{not json")
    await redis.zadd(INDEX, {"INC-bad": T0.timestamp() + 1})
    assert [i.id for i in await store.list()] == [incident().id]
    assert "INC-bad" in caplog.text


async def test_one_leader_at_a_time_and_a_standby_takes_over(redis: Redis) -> None:
    first = LeaderLock(redis, identity="a", ttl_s=15)
    second = LeaderLock(redis, identity="b", ttl_s=15)
    assert await first.hold()
    assert not await second.hold()
    assert await first.hold()  # renewal
    assert await second.holder() == "a"
    await second.release()  # not its lock: nothing happens
    assert await first.holder() == "a"
    await redis.delete(LOCK_KEY)  # the leader's lock expired (it died)
    assert await second.hold()
    assert not await first.hold()
    await second.release()
    assert await first.hold()
