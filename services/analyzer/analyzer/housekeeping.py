"""The analyzer's housekeeping: rollups every few seconds, partitions and retention every few
minutes. It runs on every replica; advisory locks in PostgreSQL let one at a time do each job,
so a standby keeps it going while the leader is busy or gone."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg

from .store import metric_points
from .store.retention import RetentionPolicy, RetentionReport, maintain_partitions
from .store.rollups import CHUNK_MINUTES, roll_up

logger = logging.getLogger("analyzer.housekeeping")

# Catching up after downtime rolls up this many hour-long chunks per round at most,
# so one round never holds a connection for long.
_CATCH_UP_CHUNKS = 24
_RETRY_PARTITIONS_S = 60.0


@dataclass
class HousekeepingStats:
    """For `/metrics`."""

    minutes_rolled_up: int = 0
    metric_minutes_rolled_up: int = 0
    partitions_created: int = 0
    partitions_dropped: int = 0
    evidence_spans_kept: int = 0
    failures: int = 0
    last_error: str | None = None


class Housekeeper:
    def __init__(
        self,
        pool: asyncpg.Pool,
        policy: RetentionPolicy,
        *,
        rollup_every: float = 15.0,
        partitions_every: float = 600.0,
        maintains_partitions: bool = True,
    ) -> None:
        self._pool = pool
        self._policy = policy
        self._maintains_partitions = maintains_partitions
        self._rollup_every = rollup_every
        self._partitions_every = partitions_every
        self.stats = HousekeepingStats()

    async def run_once(self, *, partitions: bool, now: datetime | None = None) -> None:
        """One round: roll up what is complete, then, with `partitions`, maintain them.

        Rollups first: retention drops no raw day the rollups have not passed.
        """
        now = now or datetime.now(UTC)
        minutes = metric_minutes = 0
        report = RetentionReport()
        async with self._pool.acquire() as conn:
            for _ in range(_CATCH_UP_CHUNKS):
                rolled = await roll_up(conn, now=now, first=self._policy.telemetry)
                minutes += rolled
                self.stats.minutes_rolled_up += rolled
                if rolled < CHUNK_MINUTES:  # caught up (or another replica is at it)
                    break
            for _ in range(_CATCH_UP_CHUNKS):
                rolled = await metric_points.roll_up_metrics(
                    conn, now=now, first=self._policy.metric_points
                )
                metric_minutes += rolled
                self.stats.metric_minutes_rolled_up += rolled
                if rolled < metric_points.CHUNK_MINUTES:
                    break
            if partitions:
                report = await maintain_partitions(conn, self._policy, now=now)
        self.stats.partitions_created += report.created
        self.stats.partitions_dropped += len(report.dropped)
        self.stats.evidence_spans_kept += report.evidence_spans
        did_something = (
            minutes or metric_minutes or report.created or report.dropped or report.evidence_spans
        )
        logger.log(
            logging.INFO if did_something else logging.DEBUG,
            "housekeeping: %d minutes of spans and %d of metrics rolled up, %d partitions "
            "created, %d dropped, %d evidence spans kept",
            minutes,
            metric_minutes,
            report.created,
            len(report.dropped),
            report.evidence_spans,
            extra={
                "minutes_rolled_up": minutes,
                "metric_minutes_rolled_up": metric_minutes,
                "partitions_created": report.created,
                "partitions_dropped": len(report.dropped),
                "evidence_spans_kept": report.evidence_spans,
            },
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Until stopped; a failed round is logged and retried, never fatal."""
        loop = asyncio.get_running_loop()
        next_partitions = loop.time()  # at start: a stack down for days needs its partitions
        while not stop.is_set():
            due = self._maintains_partitions and loop.time() >= next_partitions
            try:
                await self.run_once(partitions=due)
            except Exception as exc:  # the analyzer must outlive its database
                self.stats.failures += 1
                self.stats.last_error = f"{type(exc).__name__}: {exc}"
                logger.exception("housekeeping failed; retrying")
                # A lock a long query holds: not every round, so writers do not queue each time.
                if due:
                    next_partitions = loop.time() + _RETRY_PARTITIONS_S
            else:
                self.stats.last_error = None
                if due:
                    next_partitions = loop.time() + self._partitions_every
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._rollup_every)
