"""Instrumented outgoing HTTP: a client span per call, trace headers on every request."""

from __future__ import annotations

import socket
import time
from typing import Literal

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport

from ._sink import TelemetrySink
from ._span import CLIENT, describe_error, span_row, wall_clock
from .context import current_span, new_span_id, new_trace_id, outgoing_headers

Transport = Literal["aiohttp", "httpx"]

# Idle connections must expire before the server closes them: uvicorn's
# keep-alive timeout is 5 s, as is httpx's default expiry, and a request that
# reuses a connection just as the server closes it fails with a reset.
KEEPALIVE_EXPIRY = 2.0
# Connecting takes well under a millisecond between containers; one that does
# not connect within this is gone (killed, or its address reused), and the
# caller hears so now instead of after the whole request timeout. Above 1 s:
# Linux resends a dropped SYN after one second, and that call should succeed.
CONNECT_TIMEOUT = 1.5

# Optional request extension naming the callee's route template, for paths
# with parameters: `client.get(f"/inventory/{sku}", extensions={ENDPOINT: "/inventory/{sku}"})`.
ENDPOINT = "aiops.endpoint"


def failure_kind(exc: BaseException) -> str:
    """Why a call got no response: `timeout`, `connection_refused`, … .

    Transports wrap the OS error differently (the aiohttp transport reports a
    refused connection as `httpx.ConnectTimeout`), so look down the whole
    cause chain for the error that really happened.
    """
    chain: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and seen not in chain:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    for err in chain:
        if isinstance(err, ConnectionRefusedError):
            return "connection_refused"
        if isinstance(err, socket.gaierror):
            return "dns_error"
        if isinstance(
            err, ConnectionResetError | httpx.RemoteProtocolError | aiohttp.ServerDisconnectedError
        ):
            return "connection_reset"
    for err in chain:
        if isinstance(err, httpx.ConnectTimeout | aiohttp.ConnectionTimeoutError):
            return "connect_timeout"
        if isinstance(err, httpx.TimeoutException | TimeoutError):
            return "timeout"
        if isinstance(err, httpx.ConnectError | OSError):
            return "connect_error"
    return "error"


class TracingTransport(httpx.AsyncBaseTransport):
    """Wraps a transport: adds `X-Trace-Id`/`traceparent` and records a client span.

    Errors reach the caller as `httpx` exceptions, whatever the inner
    transport raised, so `except httpx.HTTPError` is always enough.
    """

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        *,
        sink: TelemetrySink,
        service_name: str,
        peer_service: str,
    ) -> None:
        self._inner = inner
        self._sink = sink
        self._service_name = service_name
        self._peer_service = peer_service

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        parent = current_span.get()
        trace_id = parent.trace_id if parent else new_trace_id()
        span_id = new_span_id()
        request.headers.update(outgoing_headers(trace_id, span_id))
        started_at = time.time()
        start = time.perf_counter()
        status_code: int | None = None
        error_kind: str | None = None
        error_message: str | None = None
        try:
            response = await self._inner.handle_async_request(request)
            status_code = response.status_code
            return response
        except Exception as exc:
            error_kind, error_message = failure_kind(exc), describe_error(exc)
            if isinstance(exc, httpx.HTTPError):
                raise
            raise httpx.TransportError(error_message) from exc
        except BaseException:  # cancelled: the caller gave up on this call
            error_kind, error_message = "cancelled", "cancelled"
            raise
        finally:
            if parent is None or parent.recorded:
                self._sink.record(
                    span_row(
                        timestamp=wall_clock(started_at),
                        service_name=self._service_name,
                        endpoint=request.extensions.get(ENDPOINT) or request.url.path,
                        method=request.method,
                        status_code=status_code,
                        latency_ms=(time.perf_counter() - start) * 1000.0,
                        error_message=error_message,
                        trace_id=trace_id,
                        span_id=span_id,
                        parent_span_id=parent.span_id if parent else None,
                        kind=CLIENT,
                        peer_service=self._peer_service,
                        error_kind=error_kind,
                    )
                )

    async def aclose(self) -> None:
        await self._inner.aclose()


def create_http_client(
    *,
    base_url: str,
    peer_service: str,
    sink: TelemetrySink,
    service_name: str,
    timeout: float,
    transport: Transport = "aiohttp",
    max_connections: int = 200,
) -> httpx.AsyncClient:
    """An `httpx.AsyncClient` whose every call is traced; business code just uses it.

    The default transport is aiohttp's: with httpx's own pool a hop cost
    several times a direct request here (see `make bench`).
    """
    limits = httpx.Limits(
        max_connections=max_connections,
        max_keepalive_connections=max_connections,
        keepalive_expiry=KEEPALIVE_EXPIRY,
    )
    inner: httpx.AsyncBaseTransport
    if transport == "aiohttp":

        def session() -> aiohttp.ClientSession:
            # No DNS cache: a peer container that died is looked up afresh (and
            # found gone at once), not called at its old address until timeout.
            connector = aiohttp.TCPConnector(
                limit=max_connections, keepalive_timeout=KEEPALIVE_EXPIRY, use_dns_cache=False
            )
            return aiohttp.ClientSession(connector=connector)

        inner = AiohttpTransport(client=session, trust_env=False)
    else:
        inner = httpx.AsyncHTTPTransport(limits=limits, trust_env=False)
    return httpx.AsyncClient(
        base_url=base_url,
        timeout=httpx.Timeout(timeout, connect=min(timeout, CONNECT_TIMEOUT)),
        trust_env=False,
        transport=TracingTransport(
            inner, sink=sink, service_name=service_name, peer_service=peer_service
        ),
    )
