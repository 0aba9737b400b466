"""Small apps the benchmark serves with uvicorn: `uvicorn --factory bench.apps:create_bare_app`.

All variants share `/ping` so that the only difference between them is the
layer under test. The bare ones get a trivial `/health` because
`ServiceProcess` polls it; the instrumented ones get the real one from
`Telemetry.instrument`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, TypedDict

import aiohttp
import httpx
from fastapi import FastAPI, Request, Response
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.types import Lifespan

from aiops_telemetry import (
    ServiceSettings,
    Telemetry,
    configure_logging_from,
    current_span,
    new_span_id,
    package_version,
)
from aiops_telemetry.context import outgoing_headers


class BenchSettings(ServiceSettings):
    """Read from `AIOPS_*` like a real service; `AIOPS_CALLEE_URL` is the hop target."""

    service_name: str = "bench"
    callee_url: str = "http://127.0.0.1:8000"


class CallerState(TypedDict):
    client: httpx.AsyncClient


def _ping_app(lifespan: Lifespan[FastAPI] | None = None) -> FastAPI:
    app = FastAPI(title="bench", lifespan=lifespan)

    @app.get("/ping")
    async def ping() -> dict[str, str]:
        return {"status": "ok", "service": "bench"}

    return app


def _add_plain_health(app: FastAPI) -> None:
    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}


def create_bare_app() -> FastAPI:
    """The baseline: FastAPI and nothing else."""
    app = _ping_app()
    _add_plain_health(app)
    return app


class PassThrough(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        return await call_next(request)


def create_basehttp_app() -> FastAPI:
    """Reference: what a do-nothing `BaseHTTPMiddleware` costs, the usual way to write one."""
    app = create_bare_app()
    app.add_middleware(PassThrough)
    return app


def _telemetry() -> tuple[BenchSettings, Telemetry]:
    """The kit as a service sets it up, logging included: its access line is part of the cost."""
    settings = BenchSettings()
    configure_logging_from(settings, service=settings.service_name)
    return settings, Telemetry(settings, version=package_version("aiops-telemetry"))


def create_instrumented_app() -> FastAPI:
    """The baseline plus the telemetry middleware, its sink writing to PostgreSQL."""
    _, telemetry = _telemetry()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with telemetry:
            yield

    app = _ping_app(lifespan)
    telemetry.instrument(app)
    return app


def create_caller_app() -> FastAPI:
    """An instrumented service whose `/hop` calls the callee's `/ping` through the traced client."""
    settings, telemetry = _telemetry()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[CallerState]:
        async with (
            telemetry,
            telemetry.http_client(
                base_url=settings.callee_url, peer_service="callee", timeout=5
            ) as client,
        ):
            yield {"client": client}

    app = FastAPI(title="bench-caller", lifespan=lifespan)
    telemetry.instrument(app)

    @app.get("/hop")
    async def hop(request: Request) -> dict[str, Any]:
        client: httpx.AsyncClient = request.state.client
        response = await client.get("/ping")
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        return answer

    return app


class RawCallerState(TypedDict):
    session: aiohttp.ClientSession


def create_raw_aiohttp_caller_app() -> FastAPI:
    """Reference for section C: the same instrumented caller, calling with aiohttp directly.

    It forwards the trace headers but records no client span and skips
    httpx entirely: the ceiling a Python client reaches on this machine.
    """
    settings, telemetry = _telemetry()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[RawCallerState]:
        connector = aiohttp.TCPConnector(limit=200, keepalive_timeout=2.0)
        async with telemetry, aiohttp.ClientSession(connector=connector) as session:
            yield {"session": session}

    app = FastAPI(title="bench-raw-caller", lifespan=lifespan)
    telemetry.instrument(app)

    @app.get("/hop")
    async def hop(request: Request) -> dict[str, Any]:
        session: aiohttp.ClientSession = request.state.session
        span = current_span.get()
        headers = outgoing_headers(span.trace_id, new_span_id()) if span else {}
        async with session.get(f"{settings.callee_url}/ping", headers=headers) as response:
            response.raise_for_status()
            answer: dict[str, Any] = await response.json()
        return answer

    return app
