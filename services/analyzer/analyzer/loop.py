"""The analyzer's schedule: while this replica leads, a cycle every interval, and on demand."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import UTC, datetime

import asyncpg
from redis.exceptions import RedisError

from aiops_engine.detection import DetectionConfig
from aiops_engine.rca import RcaConfig
from aiops_telemetry import Connection

from .cycle import AnalysisState, CycleReport, Timing, restore_state, run_cycle
from .incidents import IncidentDesk
from .leader import Fence, FencedOut, LeaderLock, claim_fence
from .loop_stats import LoopStats, log_cycle
from .metric_cycle import MetricWatch

logger = logging.getLogger("analyzer.loop")


class NotLeader(RuntimeError):
    """This replica is a standby: the leader runs the cycles."""


class AnalysisLoop:
    """Runs cycles while this replica holds the leader lock, and feeds findings to the desk.

    A heartbeat task renews the lock every `heartbeat` seconds, apart from
    the cycles, so a slow cycle never lets it lapse. Cycles follow what the
    heartbeat saw, at cycle boundaries only: a replica starts leading by
    loading the persisted state and stops by handing its queued findings to
    Redis. When Redis is unreachable the lock cannot be checked: a replica
    keeps the role it had (one that never reached Redis leads), so a single
    analyzer goes on detecting and its findings wait in the desk.

    The fencing rule: a replica leads under the token it took the lock with
    (`LeaderLock.token`), and all its writes as leader carry it, so a newer
    leader's claim refuses them; one that has never reached Redis has no
    token and writes unfenced, as a lone analyzer without Redis must, but
    once it has one it keeps it through a Redis outage and never writes
    without. A new token while leading (the lock lapsed and was taken
    again) starts leading afresh, as another leader may have come between.
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        desk: IncidentDesk,
        leader: LeaderLock,
        config: DetectionConfig,
        timing: Timing,
        rca: RcaConfig,
        *,
        interval: float,
        heartbeat: float,
        metrics: MetricWatch = MetricWatch(),
    ) -> None:
        self._pool = pool
        self._desk = desk
        self._leader = leader
        self._config = config
        self._timing = timing
        self._rca = rca
        self._metrics = metrics
        self._interval = interval
        self._heartbeat = heartbeat
        self._lock = asyncio.Lock()  # one cycle at a time: windows must not overlap
        self.state: AnalysisState | None = None  # loaded when this replica starts leading
        self.holds_lock = False  # what the last heartbeat saw
        self.leading = False  # whether cycles run here; follows holds_lock between cycles
        self.fence: Fence | None = None  # what this replica's writes carry while it leads
        self._role_known = False
        self.stats = LoopStats()

    @property
    def identity(self) -> str:
        return self._leader.identity

    async def heartbeat(self) -> None:
        """Take or renew the leader lock, and record whether Redis answered."""
        before = self._leader.token
        try:
            self.holds_lock = await self._leader.hold()
        except RedisError as exc:
            self._desk.redis_failed(exc)
            self.holds_lock = self.holds_lock or not self._role_known
        else:
            self._role_known = True
            self._desk.redis_ok()
        token = self._leader.token
        if self.holds_lock and token is not None and token != before:
            await self._claim_at_once(token)

    async def _claim_at_once(self, token: int) -> None:
        """Claim the fence as the lock is taken, not at the next cycle: a stalled leader
        waking in between must not commit a window whose incidents would then be refused.
        Best effort; the first cycle claims again (and deals with a refusal)."""
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                await claim_fence(conn, Fence(token, self.identity))
        except Exception as exc:  # the first cycle's claim decides
            logger.debug("early fence claim under token %s not made: %s", token, exc)

    async def analyze_now(self) -> CycleReport | None:
        """One cycle and its incidents; raises NotLeader on a standby."""
        async with self._lock:
            try:
                await self._follow_lock()
                if self.state is None:
                    raise NotLeader(f"standby; the leader is {await self._holder()}")
                return await self._cycle(self.state)
            except FencedOut as exc:
                self._fenced_out(exc)
                raise NotLeader(f"standby, fenced out by a newer leader ({exc})") from exc

    async def _follow_lock(self) -> None:
        token = self._leader.token
        if self.holds_lock and (not self.leading or token != self._token):
            await self._lead(token)
        elif self.leading and not self.holds_lock:
            logger.warning("lost the leader lock; standing by")
            graph, fence = self.state.graph if self.state else None, self.fence
            self.state, self.leading, self.fence = None, False, None
            await self._desk.hand_over(now=datetime.now(UTC), graph=graph, fence=fence)

    @property
    def _token(self) -> int | None:
        return self.fence.token if self.fence else None

    async def _lead(self, token: int | None) -> None:
        """Lead under `token`: claim the fence first, then load the persisted state.

        Claiming first waits out a stalled leader's transaction in flight, so
        the state read includes it, and refuses every write of its after.
        """
        async with self._pool.acquire() as conn:
            fence = None if token is None else await self._claim(conn, Fence(token, self.identity))
            self.state = await restore_state(conn, self._config, self._metrics.config)
        self.fence, self.leading = fence, True
        logger.info(
            "leading as %s under token %s (%d baselines)",
            self.identity,
            self._token,
            len(self.state.baselines),
        )

    async def _claim(self, conn: Connection, fence: Fence) -> Fence:
        try:
            async with conn.transaction():
                await claim_fence(conn, fence)
        except FencedOut as exc:
            # Below a token PostgreSQL has seen while we hold the lock: Redis lost
            # its counter (restarted empty). Draw one past it; if the lock is not
            # ours any more, we are the stale one.
            token = None if exc.newer is None else await self._leader.reissue(above=exc.newer)
            if token is None:
                raise
            fence = Fence(token, self.identity)
            async with conn.transaction():
                await claim_fence(conn, fence)
        return fence

    async def _cycle(self, state: AnalysisState) -> CycleReport | None:
        now = datetime.now(UTC)
        began = time.perf_counter()
        try:
            async with self._pool.acquire() as conn:
                report = await run_cycle(
                    conn,
                    state,
                    self._config,
                    self._timing,
                    now=now,
                    rca=self._rca,
                    fence=self.fence,
                    metric_watch=self._metrics,
                )
        except FencedOut:
            raise  # not a failure: handled by analyze_now
        except Exception as exc:
            self.stats.failures += 1
            self.stats.last_error = f"{type(exc).__name__}: {exc}"
            raise
        self.stats.last_error = None
        if report is not None:
            self.stats.record(report)
            # The window is persisted as analysed, so no other replica will
            # find these again: the desk writes them while our fence holds.
            events = await self._desk.process(
                report.findings,
                now=now,
                graph=state.graph,
                fence=self.fence,
                new_normals=report.new_normals,
            )
            log_cycle(report, events, milliseconds=(time.perf_counter() - began) * 1000.0)
        return report

    def _fenced_out(self, exc: FencedOut) -> None:
        """Stand by; the next heartbeat decides afresh whether this replica leads."""
        self.stats.fenced_writes += 1
        logger.warning(
            "this replica stalled past its lease and a newer leader took over: its write was "
            "refused (%s); dropping its state and standing by",
            exc,
        )
        self.state, self.leading, self.fence, self.holds_lock = None, False, None, False
        self._desk.drop_pending("fenced out by a newer leader")

    async def _holder(self) -> str:
        try:
            return await self._leader.holder() or "unknown"
        except RedisError:
            return "unknown (Redis is unreachable)"

    async def run(self, stop: asyncio.Event) -> None:
        """Until stopped: a heartbeat task, and a cycle every interval while leading."""
        await self.heartbeat()
        beating = asyncio.create_task(self._beat(stop), name="leader-heartbeat")
        try:
            while not stop.is_set():
                try:
                    if self.holds_lock or self.leading:
                        with contextlib.suppress(NotLeader):
                            await self.analyze_now()
                    await self._desk.flush_history()
                except Exception:  # the loop must outlive its database
                    logger.exception("analysis cycle failed; retrying next interval")
                await _sleep(stop, self._interval)
        finally:
            await beating
            if self.holds_lock:
                with contextlib.suppress(RedisError):
                    await self._leader.release()

    async def _beat(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await _sleep(stop, self._heartbeat)
            if not stop.is_set():
                try:
                    await self.heartbeat()
                except Exception:  # never let the lock lapse over a surprise
                    logger.exception("leader heartbeat failed; retrying")


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    """Sleep `seconds`, or less if `stop` is set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
