"""The chaos API every service mounts: `/simulate/...`, guarded by `X-Chaos-Token`.

Seed-compatible (`POST /simulate/delay?endpoint=/payment&duration=3000`,
`POST /simulate/error?endpoint=/payment&rate=1.0`) plus hangs, exceptions
that leave the status alone, jitter, status codes, partial rates, expiry,
listing and clearing. Its answers are `aiops_api.chaos`'s models, which the chaos tools
parse; a refusal is `aiops_api.common.ErrorDetail`.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query, status
from pydantic import SecretStr

from aiops_api import common
from aiops_api.chaos import FaultCreated, FaultKind, FaultList, FaultsRemoved, FaultView

from .chaos import CHAOS_PREFIX, FaultBook

# A path or route template (letters, digits, / _ - . { }), or `*` for every endpoint.
ENDPOINT_PATTERN = r"^(\*|/[A-Za-z0-9_./{}-]{0,200})$"
MAX_DELAY_MS = 600_000.0

Endpoint = Annotated[
    str,
    Query(pattern=ENDPOINT_PATTERN, description="path or route template, or * for all"),
]
Rate = Annotated[float, Query(gt=0, le=1, description="share of matching requests affected")]
Ttl = Annotated[
    float | None,
    Query(gt=0, description="seconds until the fault removes itself (default and cap: the max)"),
]


# Every chaos call may be refused; the 422 of a bad parameter FastAPI documents itself.
REFUSALS = common.error(401, "no X-Chaos-Token header") | common.error(
    403, "a wrong token, or chaos is disabled"
)


def chaos_router(book: FaultBook, *, service_name: str, token: SecretStr | None) -> APIRouter:
    """The `/simulate` endpoints for one service's `book`."""

    async def authorized(
        x_chaos_token: Annotated[str | None, Header(description="AIOPS_CHAOS_TOKEN")] = None,
    ) -> None:
        if token is None or not token.get_secret_value():
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                "chaos is disabled on this service: start it with AIOPS_CHAOS_TOKEN (or "
                "AIOPS_CHAOS_TOKEN_FILE) set, then send that token as X-Chaos-Token",
            )
        if x_chaos_token is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "missing X-Chaos-Token header: send the stack's chaos token "
                "(`make secret NAME=chaos_token` prints it)",
                headers={"WWW-Authenticate": "X-Chaos-Token"},
            )
        if not secrets.compare_digest(x_chaos_token.encode(), token.get_secret_value().encode()):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "wrong X-Chaos-Token")

    router = APIRouter(
        prefix=CHAOS_PREFIX, tags=["chaos"], dependencies=[Depends(authorized)], responses=REFUSALS
    )

    def created(fault: FaultView) -> FaultCreated:
        return FaultCreated(service=service_name, fault=fault)

    @router.post("/delay", status_code=status.HTTP_201_CREATED)
    async def delay(
        endpoint: Endpoint,
        duration: Annotated[float, Query(ge=0, le=MAX_DELAY_MS, description="ms")],
        jitter: Annotated[float, Query(ge=0, le=MAX_DELAY_MS, description="± ms")] = 0.0,
        rate: Rate = 1.0,
        ttl: Ttl = None,
    ) -> FaultCreated:
        """Delay matching requests by `duration` ms (± `jitter`)."""
        fault = book.add(
            FaultKind.DELAY, endpoint, ttl_s=ttl, rate=rate, duration_ms=duration, jitter_ms=jitter
        )
        return created(fault)

    @router.post("/error", status_code=status.HTTP_201_CREATED)
    async def error(
        endpoint: Endpoint,
        rate: Rate = 1.0,
        status_code: Annotated[
            int, Query(alias="status", ge=400, le=599, description="HTTP status answered")
        ] = 500,
        ttl: Ttl = None,
    ) -> FaultCreated:
        """Answer `rate` of matching requests with `status` instead of serving them."""
        return created(
            book.add(FaultKind.ERROR, endpoint, ttl_s=ttl, rate=rate, status=status_code)
        )

    @router.post("/hang", status_code=status.HTTP_201_CREATED)
    async def hang(endpoint: Endpoint, rate: Rate = 1.0, ttl: Ttl = None) -> FaultCreated:
        """Hold matching requests unanswered until the fault expires (callers time out)."""
        return created(book.add(FaultKind.HANG, endpoint, ttl_s=ttl, rate=rate))

    @router.post("/exception", status_code=status.HTTP_201_CREATED)
    async def exception(endpoint: Endpoint, rate: Rate = 1.0, ttl: Ttl = None) -> FaultCreated:
        """Serve matching requests as usual, but record an exception on their spans: the
        request counts as failed (error_kind `exception`) while its status stays what it is."""
        return created(book.add(FaultKind.EXCEPTION, endpoint, ttl_s=ttl, rate=rate))

    @router.get("")
    async def list_faults() -> FaultList:
        """The active faults, with when each expires."""
        return FaultList(
            service=service_name,
            max_ttl_s=book.max_ttl_s,
            faults=book.active(),
        )

    @router.delete("")
    async def clear(
        endpoint: Annotated[str | None, Query(pattern=ENDPOINT_PATTERN)] = None,
    ) -> FaultsRemoved:
        """Remove every fault, or those set on `endpoint`."""
        return FaultsRemoved(service=service_name, removed=book.clear(endpoint))

    @router.delete("/{fault_id}", responses=common.error(404, "no such fault"))
    async def remove(fault_id: Annotated[str, Path(max_length=64)]) -> FaultsRemoved:
        """Remove one fault."""
        if not book.remove(fault_id):
            raise HTTPException(404, f"no active fault {fault_id}; GET {CHAOS_PREFIX} lists them")
        return FaultsRemoved(service=service_name, removed=1)

    return router
