"""Leader fencing: a leader that stalled past its lease cannot write once a standby took over.

The pauses are real: a lease lapses by Redis' own expiry while its holder
does nothing, and in the last tests the leader process is stopped (SIGSTOP)
while a standby takes over. PostgreSQL and Redis are the suite's.
"""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis

from aiops_engine.detection import DetectionConfig
from aiops_engine.incidents import IncidentPolicy
from aiops_engine.incidents.lifecycle import acknowledge, new_incident_id, open_incident
from aiops_engine.rca import RcaConfig
from aiops_telemetry import COLUMNS
from analyzer import metrics
from analyzer.cycle import AnalysisState, Timing, run_cycle
from analyzer.housekeeping import Housekeeper
from analyzer.incidents import IncidentDesk, IncidentStore, Notifier
from analyzer.leader import LOCK_KEY, TOKEN_KEY, Fence, FencedOut, LeaderLock, claim_fence
from analyzer.loop import AnalysisLoop, NotLeader
from analyzer.store.retention import RetentionPolicy
from tests.support.containers import ContainerRedis
from tests.support.processes import ServiceProcess, free_port
from tests.support.tcp_proxy import tcp_proxy
from tests.support.telemetry_rows import span

from .incidents.findings import later, payment_errors, shop_graph

TIMING = Timing(window_s=5.0, ingest_lag_s=3.0, max_catch_up_s=60.0)
CONFIG = DetectionConfig(window_seconds=TIMING.window_s)
T0 = datetime(2022, 3, 1, tzinfo=UTC)
# The loop tests run on the clock: windows this short are ready after any pause.
QUICK = Timing(window_s=0.1, ingest_lag_s=0.0, max_catch_up_s=60.0)


@pytest.fixture
async def conn(conn: asyncpg.Connection) -> asyncpg.Connection:
    """The analyzer's tables, and no fence row left by other tests' leaders."""
    await conn.execute("TRUNCATE analyzer_leader_fence")
    return conn


@pytest.fixture
async def other(conn: asyncpg.Connection, database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A second replica's connection."""
    second: asyncpg.Connection = await asyncpg.connect(database_url)
    try:
        yield second
    finally:
        await second.close()


@pytest.fixture
def origin() -> datetime:
    """A stretch of past time no other test writes to."""
    return T0 + timedelta(days=uuid.uuid4().int % 100_000)


async def write_failures(conn: asyncpg.Connection, service: str, start: datetime) -> None:
    """50 failed payment requests over the 5 s from `start`: an error spike."""
    rows = [
        span(service, at=start + timedelta(seconds=i * 0.1), endpoint="/payment", status=500)
        for i in range(50)
    ]
    await conn.copy_records_to_table("telemetry", records=rows, columns=COLUMNS)


def cycle_time(origin: datetime, index: int) -> datetime:
    """When the cycle that reads window `index` runs: its end, plus the ingest lag."""
    return origin + timedelta(seconds=(index + 1) * TIMING.window_s + TIMING.ingest_lag_s)


async def written(conn: asyncpg.Connection, service: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row a cycle writes for `service`, with the progress and fence rows."""
    queries = {
        "progress": "SELECT * FROM analyzer_progress",
        "fence": "SELECT * FROM analyzer_leader_fence",
        "baselines": "SELECT * FROM analyzer_baselines WHERE service = $1",
        "seasons": "SELECT * FROM analyzer_season_hours WHERE service = $1",
        "anomalies": "SELECT * FROM analyzer_anomalies WHERE service = $1 ORDER BY id",
    }
    found = {}
    for name, sql in queries.items():
        rows = await conn.fetch(sql, *([service] if "$1" in sql else []))
        found[name] = [tuple(row.values()) for row in rows]
    return found


async def lease_lapsed(redis: Redis) -> None:
    """Until Redis has expired the lock: its holder stalled and renewed nothing."""
    while await redis.exists(LOCK_KEY):
        await asyncio.sleep(0.05)


async def take(redis: Redis, identity: str, ttl_s: float = 15) -> Fence:
    lock = LeaderLock(redis, identity=identity, ttl_s=ttl_s)
    assert await lock.hold()
    assert lock.token is not None
    return Fence(lock.token, identity)


async def test_a_stalled_leaders_late_cycle_is_refused_and_writes_nothing(
    conn: asyncpg.Connection, other: asyncpg.Connection, redis: Redis, origin: datetime
) -> None:
    service = f"pay-{uuid.uuid4().hex[:8]}"
    for window in range(2):
        await write_failures(conn, service, origin + timedelta(seconds=window * TIMING.window_s))
    stale = await take(redis, "a", ttl_s=0.2)
    async with conn.transaction():
        await claim_fence(conn, stale)  # as the loop does on starting to lead
    late = AnalysisState(last_end=origin)  # A's state, loaded then

    await lease_lapsed(redis)
    fresh = await take(redis, "b")
    assert fresh.token > stale.token
    ahead = AnalysisState(last_end=origin)
    report = await run_cycle(other, ahead, CONFIG, TIMING, now=cycle_time(origin, 0), fence=fresh)
    assert report is not None
    assert report.anomalies
    before = await written(conn, service)

    # A wakes and finishes its cycle, two windows long as it is late: refused, all of it.
    with pytest.raises(FencedOut, match=rf"token {stale.token}, .* token {fresh.token}") as caught:
        await run_cycle(conn, late, CONFIG, TIMING, now=cycle_time(origin, 1), fence=stale)
    assert (caught.value.token, caught.value.newer) == (stale.token, fresh.token)
    assert await written(conn, service) == before
    assert (late.last_end, late.baselines) == (origin, {})

    # The new leader goes on.
    assert await run_cycle(other, ahead, CONFIG, TIMING, now=cycle_time(origin, 1), fence=fresh)
    assert (await written(conn, service))["fence"][0][1:3] == (fresh.token, "b")


async def test_a_new_leaders_claim_waits_for_the_old_leaders_transaction_in_flight(
    conn: asyncpg.Connection, other: asyncpg.Connection, pool: asyncpg.Pool, redis: Redis
) -> None:
    """The row lock serializes them: B takes over only once A's write is in, and reads it."""
    stale = await take(redis, "a", ttl_s=0.2)
    await lease_lapsed(redis)
    fresh = await take(redis, "b")

    async def claim_as_b() -> None:
        async with other.transaction():
            await claim_fence(other, fresh)

    waiting_for = "SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1"
    async with conn.transaction():
        await claim_fence(conn, stale)  # A claimed before B did: its write goes in
        claim = asyncio.create_task(claim_as_b())
        while await pool.fetchval(waiting_for, other.get_server_pid()) != "Lock":
            await asyncio.sleep(0.01)
        assert not claim.done()
    await claim
    with pytest.raises(FencedOut):
        async with conn.transaction():
            await claim_fence(conn, stale)


async def test_a_stalled_leaders_late_incident_writes_are_refused(
    redis: Redis, pool: asyncpg.Pool
) -> None:
    store = IncidentStore(redis, ttl_s=3600)
    policy = IncidentPolicy()
    stale = await take(redis, "a", ttl_s=0.2)
    ongoing = open_incident(
        payment_errors(), incident_id=new_incident_id(later(0), "0001"), now=later(0), policy=policy
    )
    assert await store.create(ongoing, fence=stale)  # while it led

    await lease_lapsed(redis)
    fresh = await take(redis, "b")
    new = ongoing.model_copy(update={"id": new_incident_id(later(5), "0002")})
    with pytest.raises(FencedOut):
        await store.create(new, fence=stale)
    with pytest.raises(FencedOut):
        await store.update(ongoing.id, lambda i: acknowledge(i, now=later(6)), fence=stale)
    await redis.pexpire(f"incident:{ongoing.id}", 60_000)
    with pytest.raises(FencedOut):
        await store.refresh([ongoing], fence=stale)
    assert [i.id for i in await store.list()] == [ongoing.id]
    assert await store.get(ongoing.id) == ongoing
    ttl = await store.ttl_s(ongoing.id)
    assert ttl is not None
    assert ttl <= 60

    # Its desk drops the late finding, counted, and says so.
    async with Notifier([]) as notifier:
        desk = IncidentDesk(store, pool, notifier, policy)
        with pytest.raises(FencedOut):
            await desk.process(
                [payment_errors(at=30)], now=later(30), graph=shop_graph(), fence=stale
            )
    assert (desk.stats.dropped_findings, desk.stats.pending_findings) == (1, 0)
    assert await store.get(ongoing.id) == ongoing

    # The new leader writes, and so does a user on any replica (no fence).
    assert await store.update(ongoing.id, lambda i: acknowledge(i, now=later(7)), fence=fresh)
    assert await store.create(new)


def analysis_loop(
    pool: asyncpg.Pool, redis: Redis, identity: str, ttl_s: float = 15.0
) -> tuple[AnalysisLoop, IncidentDesk]:
    """A replica's loop, driven by hand: heartbeats and cycles run when the test says."""
    desk = IncidentDesk(IncidentStore(redis, ttl_s=3600), pool, Notifier([]), IncidentPolicy())
    lock = LeaderLock(redis, identity=identity, ttl_s=ttl_s)
    config = DetectionConfig(window_seconds=QUICK.window_s)
    loop = AnalysisLoop(
        pool, desk, lock, config, QUICK, RcaConfig(), interval=QUICK.window_s, heartbeat=ttl_s / 3
    )
    return loop, desk


async def fence_row(pool: asyncpg.Pool) -> tuple[int, str] | None:
    row = await pool.fetchrow("SELECT token, holder FROM analyzer_leader_fence")
    return None if row is None else (row["token"], row["holder"])


async def test_a_paused_leader_loop_is_fenced_out_and_stands_by(
    pool: asyncpg.Pool, redis: Redis
) -> None:
    old, desk = analysis_loop(pool, redis, "a", ttl_s=0.3)
    new, _ = analysis_loop(pool, redis, "b")
    await old.heartbeat()
    assert await old.analyze_now() is not None
    stale = old.fence
    assert stale is not None

    # A stalls: no heartbeat, no cycle, while its lease lapses and B takes over.
    await lease_lapsed(redis)
    await new.heartbeat()
    await asyncio.sleep(QUICK.window_s)  # B's first window is ready
    assert await new.analyze_now() is not None
    assert new.fence is not None
    assert new.fence.token > stale.token
    progress = await pool.fetchval("SELECT last_end FROM analyzer_progress")

    # A wakes before its heartbeat runs, so it still thinks it leads, and runs its cycle.
    assert (old.holds_lock, old.leading) == (True, True)
    await asyncio.sleep(QUICK.window_s)
    with pytest.raises(NotLeader, match="fenced out"):
        await old.analyze_now()
    assert (old.stats.fenced_writes, old.stats.failures) == (1, 0)
    assert (old.leading, old.state, old.fence) == (False, None, None)
    assert await pool.fetchval("SELECT last_end FROM analyzer_progress") == progress
    assert await fence_row(pool) == (new.fence.token, "b")
    exposed = metrics.render(old, desk, Housekeeper(pool, RetentionPolicy()))
    assert "aiops_analyzer_fenced_writes_total 1" in exposed.splitlines()

    # Its next heartbeat finds B leading: it stays a standby.
    await old.heartbeat()
    with pytest.raises(NotLeader, match="the leader is b"):
        await old.analyze_now()
    assert old.stats.fenced_writes == 1


async def test_a_leader_cut_off_from_redis_keeps_its_token_and_is_refused_after_a_takeover(
    pool: asyncpg.Pool, redis: Redis, redis_server: ContainerRedis
) -> None:
    """A replica that has had a token never writes without one, even when Redis is gone."""
    async with tcp_proxy(redis_server.port) as proxy:
        cut = Redis.from_url(
            f"redis://127.0.0.1:{proxy.port}/0", socket_timeout=0.5, socket_connect_timeout=0.5
        )
        try:
            old, _ = analysis_loop(pool, cut, "a", ttl_s=0.3)
            new, _ = analysis_loop(pool, redis, "b")
            await old.heartbeat()
            await old.analyze_now()
            stale = old.fence
            assert stale is not None

            proxy.retarget(free_port())  # A loses Redis: its role and token stay
            await old.heartbeat()
            assert (old.holds_lock, old.fence) == (True, stale)
            await lease_lapsed(redis)
            await new.heartbeat()
            await asyncio.sleep(QUICK.window_s)
            assert await new.analyze_now() is not None

            await asyncio.sleep(QUICK.window_s)
            with pytest.raises(NotLeader, match="fenced out"):
                await old.analyze_now()
            assert old.stats.fenced_writes == 1
            await old.heartbeat()  # Redis still unreachable: it stays a standby
            assert not old.holds_lock
            assert new.fence is not None
            assert await fence_row(pool) == (new.fence.token, "b")
        finally:
            await cut.aclose()


async def test_an_analyzer_that_never_reached_redis_leads_unfenced(pool: asyncpg.Pool) -> None:
    """A lone analyzer without Redis goes on detecting, as before fencing."""
    dead = Redis.from_url(
        f"redis://127.0.0.1:{free_port()}/0", socket_timeout=0.5, socket_connect_timeout=0.5
    )
    try:
        lone, _ = analysis_loop(pool, dead, "lone")
        await lone.heartbeat()
        assert lone.holds_lock
        assert await lone.analyze_now() is not None
        assert (lone.fence, lone.stats.fenced_writes) == (None, 0)
        assert await fence_row(pool) is None
    finally:
        await dead.aclose()


async def test_after_redis_lost_its_counter_the_leader_draws_a_token_past_postgres(
    pool: asyncpg.Pool, redis: Redis
) -> None:
    """Redis restarted empty counts from 1 again; PostgreSQL remembers 41."""
    await pool.execute("INSERT INTO analyzer_leader_fence (token, holder) VALUES (41, 'gone')")
    leader, _ = analysis_loop(pool, redis, "a")
    await leader.heartbeat()
    await leader.analyze_now()
    assert leader.fence == Fence(42, "a")
    assert await redis.get(TOKEN_KEY) == b"42"
    assert await fence_row(pool) == (42, "a")


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    steps=st.lists(
        st.tuples(st.sampled_from(["hold", "lapse", "release"]), st.integers(0, 2)), max_size=25
    )
)
async def test_the_token_only_increases_across_takeovers(
    redis_url: str, steps: list[tuple[str, int]]
) -> None:
    """Whoever takes the lock draws a token above every one drawn before; renewing keeps it."""
    client = Redis.from_url(redis_url)
    try:
        await client.delete(LOCK_KEY, TOKEN_KEY)
        locks = [LeaderLock(client, identity=f"r{n}", ttl_s=60) for n in range(3)]
        drawn: list[int] = []
        for action, n in steps:
            lock = locks[n]
            if action == "hold":
                before = lock.token
                if await lock.hold():
                    assert lock.token is not None
                    if lock.token != before:  # taken, not renewed
                        assert all(lock.token > token for token in drawn)
                        drawn.append(lock.token)
                else:
                    assert lock.token is None
            elif action == "lapse":
                await client.delete(LOCK_KEY)  # as its expiry would
            else:
                await lock.release()
            holder = await client.get(LOCK_KEY)
            holding = [lock for lock in locks if lock.identity.encode() == holder]
            if holding and holding[0].token is not None:
                newest = await client.get(TOKEN_KEY)
                assert newest is not None
                assert holding[0].token == int(newest)
    finally:
        await client.aclose()


async def until(what: str, check: Callable[[], Awaitable[bool]], within: float = 30.0) -> None:
    """Poll `check()` until it is true; fail naming `what` after `within` seconds."""
    deadline = asyncio.get_running_loop().time() + within
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, f"never: {what}"
        await asyncio.sleep(0.1)


def pause(pid: int) -> None:
    """SIGSTOP, returning once the kernel shows the process stopped."""
    os.kill(pid, signal.SIGSTOP)
    stat = Path(f"/proc/{pid}/stat")
    while stat.read_text().rsplit(")", 1)[1].split()[0] not in ("T", "t"):
        pass


@pytest.mark.parametrize("cut_off", [False, True], ids=["paused", "paused-and-cut-off-from-redis"])
async def test_a_leader_process_paused_past_its_lease_writes_nothing_after_the_takeover(
    cut_off: bool, conn: asyncpg.Connection, database_url: str, redis_server: ContainerRedis
) -> None:
    """Two analyzers; the leader is stopped (SIGSTOP) until the standby has led and written.

    Cut off from Redis too, the old leader still believes it leads when it
    wakes, so its next cycle is refused for certain; with Redis it may
    instead hear first that it lost the lock. Either way it writes nothing.
    """
    redis_url = redis_server.reset()
    env = {
        "AIOPS_DATABASE_URL": database_url,
        "AIOPS_PARTITION_MAINTENANCE": "false",  # the session database is shared
        "AIOPS_ANALYSIS_INTERVAL": "0.5",
        "AIOPS_INGEST_LAG": "0",
        "AIOPS_LEADER_TTL": "1.5",
    }
    async with tcp_proxy(redis_server.port) as proxy, httpx.AsyncClient(timeout=5) as client:

        async def health(process: ServiceProcess) -> dict[str, Any]:
            answer: dict[str, Any] = (await client.get(f"{process.url}/health")).json()
            return answer

        async def leads_and_wrote(process: ServiceProcess) -> bool:
            answer = await health(process)
            return bool(answer["role"] == "leader" and answer["cycles"] >= 1)

        async def stood_by(process: ServiceProcess) -> bool:
            answer = await health(process)
            return bool(answer["role"] == "standby" and (answer["fenced_writes"] or not cut_off))

        old = ServiceProcess(
            "analyzer.app:create_app",
            {**env, "AIOPS_REDIS_URL": f"redis://127.0.0.1:{proxy.port}/0"},
        )
        new = ServiceProcess("analyzer.app:create_app", {**env, "AIOPS_REDIS_URL": redis_url})
        try:
            # Started from a thread: the proxy serves the old one's Redis from this loop.
            await asyncio.to_thread(old.start)
            await until("the first analyzer leads", lambda: leads_and_wrote(old))
            await asyncio.to_thread(new.start)
            assert (await health(new))["role"] == "standby"
            first = await fence_row_of(conn)
            assert first[1] == (await health(old))["identity"]

            pause(old.pid)
            stopped_at = datetime.now(UTC)
            try:
                await until("the standby leads and writes", lambda: leads_and_wrote(new))
                if cut_off:
                    proxy.retarget(free_port())
            finally:
                os.kill(old.pid, signal.SIGCONT)

            await until("the old leader stands by", lambda: stood_by(old))
            late = await health(old)
            # Every cycle it completed started before the pause.
            assert datetime.fromisoformat(late["last_cycle_at"]) < stopped_at
            current = await health(new)
            assert current["role"] == "leader"
            token, holder = await fence_row_of(conn)
            assert (holder, token > first[0]) == (current["identity"], True)
            if cut_off:
                lines = (await client.get(f"{old.url}/metrics")).text.splitlines()
                assert "aiops_analyzer_fenced_writes_total 1" in lines
        finally:
            # From a thread too: the proxy closes what the old one still dials meanwhile.
            await asyncio.to_thread(new.stop)
            await asyncio.to_thread(old.stop)


async def fence_row_of(conn: asyncpg.Connection) -> tuple[int, str]:
    row = await conn.fetchrow("SELECT token, holder FROM analyzer_leader_fence")
    assert row is not None
    return row["token"], row["holder"]
