"""The incident desk: findings in; incidents in Redis, history in PostgreSQL, webhooks out.

All judgement is in `lifecycle` (pure); this class only moves data. It
never raises Redis trouble to its caller: findings wait in a bounded queue
while Redis is unreachable and are written, in order, once it is back.
The loop's writes carry the leader's fence; one refused (FencedOut) drops
what waits, since this replica may no longer write it, and reaches the loop.
"""

from __future__ import annotations

import functools
import logging
import secrets
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

import asyncpg
from redis.exceptions import RedisError

from aiops_engine.incidents.lifecycle import (
    IncidentPolicy,
    absorb,
    acknowledge,
    changes,
    match,
    new_incident_id,
    open_incident,
    resolve,
)
from aiops_engine.incidents.model import EventKind, Incident, IncidentEvent
from aiops_engine.incidents.new_normal import settle
from aiops_engine.rca import DependencyGraph, Finding
from analyzer.leader import Fence, FencedOut
from analyzer.store import incident_history

from .notify import Notifier
from .redis_store import IncidentStore

logger = logging.getLogger("analyzer.incidents")

Change = Callable[[Incident], Incident]
# A new or returning incident is what an operator must see; the rest is its story.
_EVENT_LEVELS = {EventKind.OPENED: logging.WARNING, EventKind.REOPENED: logging.WARNING}
MAX_HISTORY_BACKLOG = 10_000


@dataclass
class DeskStats:
    """For `/health` and `/metrics`."""

    redis_error: str | None = None  # why the last Redis operation failed; None when fine
    pending_findings: int = 0  # waiting for Redis
    dropped_findings: int = 0  # pushed out of a full queue during a long Redis outage
    failed_findings: int = 0  # the incident rules raised on them (a bug: see the log)
    pending_history: int = 0  # events waiting for PostgreSQL
    dropped_history: int = 0  # events pushed out of a full backlog during a long outage
    opened: int = 0


class IncidentDesk:
    def __init__(
        self,
        store: IncidentStore,
        pool: asyncpg.Pool,
        notifier: Notifier,
        policy: IncidentPolicy,
        *,
        max_pending: int = 1000,
    ) -> None:
        self.store = store
        self._pool = pool
        self._notifier = notifier
        self.policy = policy
        self._pending: deque[Finding] = deque()
        self._max_pending = max_pending
        self._history: list[IncidentEvent] = []
        self.stats = DeskStats()

    async def process(
        self,
        findings: Iterable[Finding],
        *,
        now: datetime,
        graph: DependencyGraph,
        fence: Fence | None = None,
        new_normals: Mapping[str, datetime] | None = None,
    ) -> list[IncidentEvent]:
        """Fold this cycle's findings into incidents, resolve the quiet ones and those whose
        metric series took a new normal (`new_normals`: series -> since), refresh TTLs.

        Raises FencedOut if a newer leader has taken over, after recording
        the changes made before that.
        """
        for finding in findings:
            if len(self._pending) >= self._max_pending:
                self._pending.popleft()
                self.stats.dropped_findings += 1
            self._pending.append(finding)
        events: list[IncidentEvent] = []
        fenced: FencedOut | None = None
        try:
            incidents = await self.store.list()
            while self._pending:
                events += await self._apply_one(self._pending[0], incidents, now, graph, fence)
                self._pending.popleft()
            settled = functools.partial(
                settle, now=now, policy=self.policy, new_normals=new_normals or {}
            )
            for incident in list(incidents):
                if settled(incident) == incident:
                    continue  # still active: no round trip
                events += await self._change(incident.id, incidents, settled, fence)
            await self.store.refresh(incidents, fence=fence)
        except RedisError as exc:
            self.redis_failed(exc)
        except FencedOut as exc:
            fenced = exc
            self.redis_ok()  # it answered: with a newer token than ours
            self.drop_pending("a newer leader took over")
        else:
            self.redis_ok()
        self.stats.pending_findings = len(self._pending)
        # Events are changes Redis accepted, under a token that was current then.
        self._publish(events)
        await self.flush_history(events)
        if fenced is not None:
            raise fenced
        return events

    async def hand_over(
        self, *, now: datetime, graph: DependencyGraph | None, fence: Fence | None = None
    ) -> None:
        """On losing leadership: write what still waits for Redis if it can, then forget it.

        A leader that lost the lock over a long Redis outage still holds the
        findings of windows it analysed; no other replica will find them again.
        Its fence decides whether it still may (FencedOut if not).
        """
        if self._pending and graph is not None:
            await self.process([], now=now, graph=graph, fence=fence)
        self.drop_pending("standing by")

    def drop_pending(self, why: str) -> None:
        """Forget the findings waiting for Redis, counted as dropped."""
        if self._pending:
            logger.warning("%s: %d findings could not be written", why, len(self._pending))
            self.stats.dropped_findings += len(self._pending)
            self._pending.clear()
            self.stats.pending_findings = 0

    def redis_ok(self) -> None:
        if self.stats.redis_error is not None:
            logger.warning("Redis is reachable again")
        self.stats.redis_error = None

    def redis_failed(self, exc: RedisError) -> None:
        if self.stats.redis_error is None:
            logger.error(
                "Redis is unreachable (%s): detection goes on; findings wait to become "
                "incidents until it is back",
                exc,
            )
        self.stats.redis_error = f"{type(exc).__name__}: {exc}"

    async def acknowledge(self, incident_id: str, *, now: datetime) -> Incident | None:
        """Raises TransitionError if it is resolved, RedisError if Redis is unreachable."""
        return await self._user_change(incident_id, lambda i: acknowledge(i, now=now), now)

    async def resolve(self, incident_id: str, *, now: datetime) -> Incident | None:
        return await self._user_change(incident_id, lambda i: resolve(i, now=now, by="user"), now)

    async def _user_change(
        self, incident_id: str, change: Change, now: datetime
    ) -> Incident | None:
        result = await self.store.update(incident_id, change)
        if result is None:
            return None
        before, after = result
        events = changes(before, after, now=now) if after != before else []
        self._publish(events)
        await self.flush_history(events)
        return after

    async def _apply_one(
        self,
        finding: Finding,
        incidents: list[Incident],
        now: datetime,
        graph: DependencyGraph,
        fence: Fence | None,
    ) -> list[IncidentEvent]:
        """`_apply`, except that a finding the rules choke on is logged and dropped.

        Redis errors propagate (the finding waits), as does FencedOut;
        anything else would otherwise block the queue for good.
        """
        try:
            return await self._apply(finding, incidents, now=now, graph=graph, fence=fence)
        except (RedisError, FencedOut):
            raise
        except Exception:
            logger.exception("finding %s dropped: it could not be made an incident", finding)
            self.stats.failed_findings += 1
            return []

    async def _apply(
        self,
        finding: Finding,
        incidents: list[Incident],
        *,
        now: datetime,
        graph: DependencyGraph,
        fence: Fence | None,
    ) -> list[IncidentEvent]:
        target = match(incidents, finding, policy=self.policy, graph=graph)
        if target is not None:
            events = await self._change(
                target.id,
                incidents,
                lambda i: absorb(i, finding, now=now, policy=self.policy),
                fence,
            )
            if any(i.id == target.id for i in incidents):
                return events
            # It expired from Redis between listing and updating: a new incident then.
        while True:
            token = secrets.token_hex(2)
            incident = open_incident(
                finding, incident_id=new_incident_id(now, token), now=now, policy=self.policy
            )
            if await self.store.create(incident, fence=fence):
                break
        incidents.insert(0, incident)
        self.stats.opened += 1
        return changes(None, incident, now=now)

    async def _change(
        self, incident_id: str, incidents: list[Incident], change: Change, fence: Fence | None
    ) -> list[IncidentEvent]:
        """Apply `change` in Redis and to the local `incidents` list; the events it caused."""
        result = await self.store.update(incident_id, change, fence=fence)
        position = next(n for n, i in enumerate(incidents) if i.id == incident_id)
        if result is None:
            del incidents[position]
            return []
        before, after = result
        incidents[position] = after
        return changes(before, after, now=after.updated_at) if after != before else []

    def _publish(self, events: Iterable[IncidentEvent]) -> None:
        """Log each change with its incident's id, and send it to the webhooks."""
        for event in events:
            _log_event(event)
            self._notifier.notify(event)

    async def flush_history(self, events: Iterable[IncidentEvent] = ()) -> None:
        """Append `events`, and any backlog, to the history table; kept for later if it fails.

        Every replica calls it each interval, so a backlog left by an API
        request on a standby is written too. Not fenced: the events record
        changes Redis accepted (a fenced-out write makes none), and refusing
        them would lose the record of what did happen.
        """
        batch, self._history = [*self._history, *events], []
        if batch:
            try:
                async with self._pool.acquire() as conn:
                    await incident_history.append(conn, batch)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                logger.error("incident history not written yet (%s); retrying next cycle", exc)
                # Put back in front of whatever arrived meanwhile; bound the backlog.
                self._history = [*batch, *self._history]
                excess = max(0, len(self._history) - MAX_HISTORY_BACKLOG)
                del self._history[:excess]
                self.stats.dropped_history += excess
        self.stats.pending_history = len(self._history)


def _log_event(event: IncidentEvent) -> None:
    incident = event.incident
    logger.log(
        _EVENT_LEVELS.get(event.kind, logging.INFO),
        "incident %s %s: %s",
        incident.id,
        event.kind.value,
        event.detail,
        extra={
            "incident_id": incident.id,
            "change": event.kind.value,
            "incident_status": incident.status.value,
            "severity": str(incident.severity),
            "root_cause": str(incident.root_cause),
        },
    )
