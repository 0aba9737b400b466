"""Voiding the payment of an order that failed after payment: at once, or later, never lost.

When inventory refuses (or does not answer) after payment authorized, checkout
records the void in its ledger, then asks payment to void. When payment itself did
not answer (it may have authorized all the same, under an id checkout never learnt),
checkout voids the order instead: payment voids what it holds for it and refuses
what comes later (routes.py, payment_void.py). If payment cannot void, the ledger
keeps the void pending and the retrier, a task the lifespan owns, tries again with
capped exponential backoff until payment confirms. A void that not even the ledger
can take (checkout's database is down too, as it is when the stack's one PostgreSQL
stops) is held in memory and written to the ledger as soon as the database is back;
one still unwritten at shutdown is logged as an error with the call that voids it,
for an operator to make by hand. A payment that payment no longer knows (its
authorization expired and was deleted) has nothing left to void: that void is done,
with a warning (payment_void.py)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, replace

import asyncpg
import httpx

from aiops_api.shop import OrderPayment, PaymentVoids, VoidStatus
from aiops_telemetry import DATABASE_UNAVAILABLE, current_span
from aiops_telemetry.context import SpanContext

from .payment_void import VoidAnswer, request_void
from .settings import CheckoutSettings
from .voids import PendingVoid, VoidLedger

logger = logging.getLogger("checkout.compensation")

HEALTH_TIMEOUT_S = 1.0
# What the ledger may fail with: the database down, or a statement it refused.
_LEDGER_ERRORS: tuple[type[Exception], ...] = (*DATABASE_UNAVAILABLE, asyncpg.PostgresError)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When to try a failed void again, and how much to try at once."""

    interval_s: float  # between the retrier's looks for due voids
    initial_s: float  # the first retry's wait; it doubles with every failure
    max_s: float  # the longest wait
    batch_size: int  # voids tried at once, at most
    lease_s: float  # a void being tried is not due for anyone else for this long

    @classmethod
    def of(cls, settings: CheckoutSettings) -> RetryPolicy:
        return cls(
            interval_s=settings.void_retry_interval,
            initial_s=settings.void_backoff_initial,
            max_s=max(settings.void_backoff_max, settings.void_backoff_initial),
            batch_size=settings.void_batch_size,
            # Longer than any one call can take (each phase is bounded by the timeout).
            lease_s=2 * settings.downstream_timeout + 1,
        )

    def backoff_s(self, attempts: int, rng: random.Random) -> float:
        """The wait after `attempts` failed calls, in the upper half of its exponential step,
        so that voids that failed together are not all retried together."""
        step = min(self.max_s, self.initial_s * 2.0 ** min(attempts - 1, 30))
        return step * (0.5 + rng.random() / 2)


class Compensator:
    """Voids payments of failed orders, and owns the ledger's retrier."""

    def __init__(
        self, *, payment: httpx.AsyncClient, ledger: VoidLedger, policy: RetryPolicy
    ) -> None:
        self._payment = payment
        self._ledger = ledger
        self._policy = policy
        self._random = random.Random()
        # Voids the ledger could not take, by order, with the loop time each is due again.
        self._held: dict[str, tuple[PendingVoid, float]] = {}

    async def void_after_failure(
        self, *, order_id: str, payment_id: str | None, reason: str
    ) -> OrderPayment:
        """Void the payment of an order that failed (the order's, without `payment_id`);
        `void_pending` if payment could not."""
        span = current_span.get()
        void = PendingVoid(
            order_id=order_id,
            payment_id=payment_id,
            trace_id=span.trace_id if span else None,
            parent_span_id=span.span_id if span else None,
            reason=reason,
        )
        # Written first, due once this attempt is surely over: if checkout dies now, the
        # retrier (of any replica) still voids it.
        recorded = await self._store(self._ledger.open(void, due_in_s=self._policy.lease_s))
        answer = await request_void(self._payment, void)
        if answer.error is None:
            _log_done(void, answer, 1)
            if recorded:
                await self._store(self._done(void, answer))
            return OrderPayment(id=payment_id, status="voided")
        error = answer.error
        retry_in = self._policy.backoff_s(1, self._random)
        logger.warning("void of %s failed, retrying in %.1f s: %s", void.described, retry_in, error)
        if recorded:
            await self._store(self._ledger.failed(order_id, error, retry_in_s=retry_in))
        else:
            self._hold(replace(void, attempts=1, last_error=error), retry_in)
        return OrderPayment(id=payment_id, status="void_pending")

    async def retry_due(self) -> None:
        """One round of the retrier: the held voids, then the ledger's due ones."""
        await self._retry_held()
        due = await self._ledger.claim_due(
            limit=self._policy.batch_size, lease_s=self._policy.lease_s
        )
        await asyncio.gather(*(self._retry(void) for void in due))

    @contextlib.asynccontextmanager
    async def retrying(self) -> AsyncIterator[None]:
        """Run the retrier in the background until the block ends, then stop it cleanly."""
        stop = asyncio.Event()
        task = asyncio.create_task(self._run(stop), name="checkout-void-retrier")
        try:
            yield
        finally:
            stop.set()
            # A round in flight ends within one call's timeout; past that, cancel it.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(task, self._policy.lease_s)
            await self._retry_held(call=False)
            for void, _ in self._held.values():
                logger.error(
                    "%s of failed order %s may still be authorized and its void could not "
                    "be recorded (database unavailable): void it by hand (%s)",
                    "the payment" if void.payment_id is None else f"payment {void.payment_id}",
                    void.order_id, void.by_hand,
                )  # fmt: skip

    async def status(self) -> str:
        """For /health: "ok", or how many voids failed and wait for the retrier."""
        held = len(self._held)
        try:
            pending = await asyncio.wait_for(
                self._ledger.pending_count(failed_only=True), HEALTH_TIMEOUT_S
            )
        except _LEDGER_ERRORS as exc:
            return f"unknown: {type(exc).__name__}" + (f"; {held} held in memory" if held else "")
        if not pending and not held:
            return "ok"
        return f"{pending + held} pending" + (f" ({held} held in memory)" if held else "")

    async def listing(self, *, status: VoidStatus | None, limit: int) -> PaymentVoids:
        voids = await self._ledger.listing(status=status, limit=limit)
        pending = await self._ledger.pending_count()
        return PaymentVoids(pending=pending, unrecorded=len(self._held), voids=voids)

    async def _run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.retry_due()
            except _LEDGER_ERRORS as exc:  # the next round tries again
                logger.warning("void retrier: ledger unavailable (%s)", exc)
            except Exception:  # a bug must not end the retrier: voids would wait for a restart
                logger.exception("void retrier round failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._policy.interval_s)

    async def _retry(self, void: PendingVoid) -> None:
        # The retried call, and its log line, join the failed checkout's trace, under its
        # server span; the ledger's bookkeeping stays out of it.
        context = (
            SpanContext(void.trace_id, void.parent_span_id)
            if void.trace_id and void.parent_span_id
            else None
        )
        attempt = void.attempts + 1
        retry_in = self._policy.backoff_s(attempt, self._random)
        token = current_span.set(context)
        try:
            answer = await request_void(self._payment, void)
            if answer.error is None:
                _log_done(void, answer, attempt)
            else:
                logger.warning(
                    "void of %s failed on attempt %d, retrying in %.1f s: %s",
                    void.described, attempt, retry_in, answer.error,
                )  # fmt: skip
        finally:
            current_span.reset(token)
        if answer.error is None:
            await self._store(self._done(void, answer))
        else:
            await self._store(self._ledger.failed(void.order_id, answer.error, retry_in_s=retry_in))

    async def _retry_held(self, *, call: bool = True) -> None:
        """Write held voids to the ledger; while it is unavailable, try the due ones' calls."""
        now = asyncio.get_running_loop().time()
        ledger_up = True
        due: list[PendingVoid] = []
        for order_id, (void, due_at) in list(self._held.items()):
            # One failed write says the database is still away: no wait per held void.
            if ledger_up and await self._store(self._ledger.open(void, due_in_s=0)):
                del self._held[order_id]
                logger.info("void of %s recorded in the ledger", void.described)
                continue
            ledger_up = False
            if due_at <= now and len(due) < self._policy.batch_size:
                due.append(void)
        if call:
            await asyncio.gather(*(self._retry_in_memory(void) for void in due))

    async def _retry_in_memory(self, void: PendingVoid) -> None:
        answer = await request_void(self._payment, void)
        attempt = void.attempts + 1
        if answer.error is None:
            del self._held[void.order_id]
            _log_done(void, answer, attempt, " (never recorded)")
            return
        retry_in = self._policy.backoff_s(attempt, self._random)
        logger.warning(
            "void of %s, held in memory, failed on attempt %d: %s",
            void.described, attempt, answer.error,
        )  # fmt: skip
        self._hold(replace(void, attempts=attempt, last_error=answer.error), retry_in)

    def _hold(self, void: PendingVoid, retry_in_s: float) -> None:
        if void.order_id not in self._held:
            logger.error(
                "void of %s could not be recorded (database unavailable): "
                "held in memory until it can be",
                void.described,
            )
        self._held[void.order_id] = (void, asyncio.get_running_loop().time() + retry_in_s)

    def _done(self, void: PendingVoid, answer: VoidAnswer) -> Awaitable[None]:
        return self._ledger.voided(void.order_id, note=answer.note, payment_id=answer.payment_id)

    @staticmethod
    async def _store(write: Awaitable[None]) -> bool:
        """Run a ledger write; False (logged) when the database did not take it."""
        try:
            await write
        except _LEDGER_ERRORS as exc:
            logger.warning("void ledger write failed: %s", exc)
            return False
        return True


def _log_done(void: PendingVoid, answer: VoidAnswer, attempt: int, how: str = "") -> None:
    if void.payment_id is None:
        logger.info(
            "voided order %s at payment on attempt %d%s: %s",
            void.order_id, attempt, how,
            f"its payment {answer.payment_id} voided" if answer.payment_id
            else "payment had authorized nothing for it, and refuses any later authorization",
        )  # fmt: skip
    elif answer.unknown:
        logger.warning(
            "payment %s of failed order %s is unknown to payment (HTTP 404 on attempt %d%s): "
            "its authorization expired past payment's retention or was never recorded; "
            "nothing is left to void, so the void is done",
            void.payment_id, void.order_id, attempt, how,
        )  # fmt: skip
    else:
        logger.info(
            "voided payment %s of failed order %s on attempt %d%s",
            void.payment_id, void.order_id, attempt, how,
        )  # fmt: skip
