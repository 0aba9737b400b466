"""Failure injection: faults a service applies to its own requests, inside the telemetry span.

A `FaultBook` holds one service's active faults; `ChaosMiddleware` (pure ASGI)
consults it on every request. It sits inside the telemetry middleware, so an
injected delay or error is recorded like a real one, which is what the
analyzer must catch; an injected exception goes through `record_exception`,
as business code that handles one would. Every fault expires: nothing
outlives its scenario.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import secrets
from datetime import UTC, datetime, timedelta

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

# A fault is held as the chaos API answers it: one model, the book's and the wire's.
from aiops_api.chaos import FaultKind as FaultKind
from aiops_api.chaos import FaultView as Fault

from ._routes import RouteTemplates
from .context import record_exception

CHAOS_PREFIX = "/simulate"
ANY_ENDPOINT = "*"
MAX_HELD = 1_000  # requests one service holds for hangs at once; beyond it they get a 504


class FaultBook:
    """One service's active faults. Expired ones are dropped as they are read."""

    def __init__(self, *, max_ttl_s: float, rng: random.Random | None = None) -> None:
        self.max_ttl_s = max_ttl_s
        self._faults: dict[str, Fault] = {}
        # Set when a fault ends (removed, cleared or expired): frees requests it holds.
        self._ended: dict[str, asyncio.Event] = {}
        self._random = rng or random.Random()

    def add(
        self,
        kind: FaultKind,
        endpoint: str,
        *,
        ttl_s: float | None = None,
        rate: float = 1.0,
        duration_ms: float = 0.0,
        jitter_ms: float = 0.0,
        status: int = 500,
        now: datetime | None = None,
    ) -> Fault:
        now = now or datetime.now(UTC)
        ttl = self.max_ttl_s if ttl_s is None else min(ttl_s, self.max_ttl_s)
        fault = Fault(
            id=f"flt-{secrets.token_hex(4)}",
            kind=kind,
            endpoint=endpoint,
            rate=rate,
            duration_ms=duration_ms,
            jitter_ms=jitter_ms,
            status=status,
            created_at=now,
            expires_at=now + timedelta(seconds=ttl),
        )
        self._faults[fault.id] = fault
        self._ended[fault.id] = asyncio.Event()
        return fault

    def active(self, now: datetime | None = None) -> list[Fault]:
        now = now or datetime.now(UTC)
        for fault_id in [i for i, f in self._faults.items() if f.expires_at <= now]:
            self.remove(fault_id)
        return list(self._faults.values())

    def remove(self, fault_id: str) -> bool:
        if self._faults.pop(fault_id, None) is None:
            return False
        self._ended.pop(fault_id).set()
        return True

    def clear(self, endpoint: str | None = None) -> int:
        """Remove every fault, or those set on `endpoint` (as it was given); how many."""
        doomed = [i for i, f in self._faults.items() if endpoint in (None, f.endpoint)]
        for fault_id in doomed:
            self.remove(fault_id)
        return len(doomed)

    async def hold(self, fault: Fault, seconds: float) -> None:
        """Wait `seconds`, but no longer than the fault lasts: ending it frees the request."""
        ended = self._ended.get(fault.id)
        remaining = (fault.expires_at - datetime.now(UTC)).total_seconds()
        timeout = max(0.0, min(seconds, remaining))
        if ended is None or timeout == 0:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(ended.wait(), timeout)

    def __bool__(self) -> bool:
        return bool(self._faults)

    def draw(self, path: str, template: str | None, now: datetime | None = None) -> list[Fault]:
        """The faults that strike this request, each with its own rate.

        A fault's endpoint names the request's path, its route template (so
        `/inventory/{sku}` strikes every stock lookup but not
        `POST /inventory/reserve`), or `*`.
        """
        if not self._faults:
            return []
        targets = {ANY_ENDPOINT, path, template}
        return [
            fault
            for fault in self.active(now)
            if fault.endpoint in targets
            and (fault.rate >= 1.0 or self._random.random() < fault.rate)
        ]

    def delay_s(self, fault: Fault) -> float:
        jitter = self._random.uniform(-fault.jitter_ms, fault.jitter_ms) if fault.jitter_ms else 0
        return max(0.0, fault.duration_ms + jitter) / 1000.0


class ChaosMiddleware:
    """Applies the book's faults to requests; the chaos API and `/health` are never struck."""

    def __init__(self, app: ASGIApp, *, book: FaultBook) -> None:
        self.app = app
        self.book = book
        self._routes = RouteTemplates()
        self._held = 0  # requests a hang holds right now

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        exempt = path in (CHAOS_PREFIX, "/health") or path.startswith(f"{CHAOS_PREFIX}/")
        if not path or exempt or not self.book:
            await self.app(scope, receive, send)
            return
        template = self._routes.template(scope)
        faults = self.book.draw(path, template)
        if faults:
            self._routes.name_endpoint(scope)  # answered before routing
        for fault in faults:
            if fault.kind is FaultKind.DELAY:
                await self.book.hold(fault, self.book.delay_s(fault))
            elif fault.kind is FaultKind.HANG:
                if self._held >= MAX_HELD:  # bound what a hang keeps: answer at once
                    await _answer(504, fault, "injected hang (too many held)")(scope, receive, send)
                    return
                # Held until the fault ends; a caller with a timeout gives up first.
                self._held += 1
                try:
                    await self.book.hold(fault, math.inf)
                finally:
                    self._held -= 1
                await _answer(504, fault, "injected hang ended with the fault")(
                    scope, receive, send
                )
                return
            elif fault.kind is FaultKind.EXCEPTION:
                # Recorded, not raised: the app answers as usual, only the span says it failed.
                record_exception(RuntimeError(f"injected exception (chaos fault {fault.id})"))
            else:
                await _answer(fault.status, fault, "injected error")(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _answer(status: int, fault: Fault, detail: str) -> JSONResponse:
    return JSONResponse(
        {"detail": f"{detail} (chaos fault {fault.id})"},
        status,
        headers={"x-chaos-fault": fault.id},
    )
