"""An app served in-process with its lifespan run, as `asgi_lifespan.LifespanManager` would."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from starlette.types import Receive, Scope, Send


@asynccontextmanager
async def lifespan_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client of `app` over `httpx.ASGITransport`, inside the app's lifespan.

    The transport runs no lifespan of its own, so this one does, and hands
    each request the state it yielded, as a server does (`request.state`).
    """
    async with app.router.lifespan_context(app) as state:

        async def with_state(scope: Scope, receive: Receive, send: Send) -> None:
            scope["state"] = dict(state or {})
            await app(scope, receive, send)

        transport = httpx.ASGITransport(app=with_state)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            yield client
