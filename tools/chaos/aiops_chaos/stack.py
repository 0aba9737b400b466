"""The running compose stack, as chaos scenarios see it: its health, its faults, its data.

Faults go through each shop service's chaos API (`/simulate`), container
stops through `docker compose`, and incidents through the analyzer's API;
telemetry is read from PostgreSQL directly, one query per run (and a cold
start's few statements, `cold_start.py`). Every answer is parsed with the
service's own model (`aiops_api`); one that does not fit is a `StackError`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import datetime

import asyncpg
import httpx
from pydantic import TypeAdapter

from aiops_api.analyzer import (
    BASELINES,
    INCIDENTS,
    AnalyzerHealth,
    Anomalies,
    AnomalyRecord,
    BaselineRecord,
    Incident,
)
from aiops_api.chaos import FaultCreated, FaultList, FaultsRemoved
from aiops_api.service import ServiceHealth

from .answers import T, parse_answer, refusal_detail
from .results import Sample
from .scenarios import Fault
from .stack_settings import HOST, NOT_RUNNING, StackError, StackSettings

__all__ = ["SERVICES", "SHOP", "Stack", "StackError", "StackSettings"]

SHOP: tuple[str, ...] = ("checkout", "payment", "inventory")  # the services with a chaos API
SERVICES: tuple[str, ...] = (*SHOP, "analyzer")
TOKEN_HEADER = "X-Chaos-Token"  # noqa: S105 (a header name)

# Per second and per server endpoint: volume, failures (5xx, no status at all, or a failure
# recorded on the span whatever its status, such as a handled exception), median.
SAMPLES_SQL = """
SELECT date_trunc('second', "timestamp") AS at, service_name || ' ' || endpoint AS endpoint,
       count(*) AS requests,
       count(*) FILTER (
           WHERE status_code IS NULL OR status_code >= 500 OR error_kind IS NOT NULL
       ) AS errors,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms) AS p50_ms
FROM telemetry WHERE kind = 'server' AND "timestamp" >= $1 AND "timestamp" < $2
GROUP BY 1, 2 ORDER BY 1, 2
"""


class Stack:
    """An HTTP client for the stack's services; use as `async with Stack(settings) as stack`.

    `http` is a client to use instead of its own (one of an app served in-process, say),
    left open on exit: its owner closes it.
    """

    def __init__(
        self,
        settings: StackSettings,
        *,
        timeout_s: float = 10.0,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.settings = settings
        self._timeout_s = timeout_s
        self._given = http
        self._http: httpx.AsyncClient | None = None

    async def __aenter__(self) -> Stack:
        self._http = self._given or httpx.AsyncClient(timeout=self._timeout_s)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._http is not None and self._http is not self._given:
            await self._http.aclose()
        self._http = None

    @property
    def http(self) -> httpx.AsyncClient:
        if self._http is None:
            raise RuntimeError("use the Stack inside `async with Stack(settings) as stack`")
        return self._http

    # Health.

    async def check_health(self, services: tuple[str, ...] = SERVICES) -> None:
        """Raises StackError naming every service that is down or unhealthy."""
        problems = await asyncio.gather(*(self._health_problem(s) for s in services))
        down = [p for p in problems if p is not None]
        if len(down) == len(services):
            raise StackError(f"{NOT_RUNNING} (" + "; ".join(down) + ")")
        if down:
            raise StackError(
                "part of the stack is down: " + "; ".join(down) + ". `make ps` shows what runs; "
                "`make up` starts the rest"
            )

    async def wait_healthy(self, service: str, *, timeout_s: float = 90.0) -> None:
        """Poll `service`'s /health until it answers 200, or raise after `timeout_s`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while (problem := await self._health_problem(service)) is not None:
            if loop.time() >= deadline:
                raise StackError(f"{service} is not healthy after {timeout_s:g} s: {problem}")
            await asyncio.sleep(0.5)

    async def _health_problem(self, service: str) -> str | None:
        """What is wrong with `service` (it does not answer, or not 200, or not its /health),
        or None. A degraded one is up: its `status` is the health's business, not ours."""
        url = f"{self.settings.url(service)}/health"
        try:
            response = await self.http.get(url, timeout=5.0)
        except httpx.HTTPError as exc:
            return f"{service} does not answer at {url} ({type(exc).__name__})"
        if response.status_code != 200:
            return f"{service} is unhealthy ({response.status_code}: {response.text[:200]})"
        shape = AnalyzerHealth if service == "analyzer" else ServiceHealth
        try:
            parse_answer(service, "GET", "/health", response, shape)
        except StackError as exc:
            return str(exc)
        return None

    # Chaos: faults injected through each shop service's /simulate API.

    async def inject(self, fault: Fault, *, ttl_s: float) -> str:
        """A delay, error or hang fault for `ttl_s` seconds (a stop is `stop_service`); its id."""
        values = {"endpoint": fault.endpoint or "*", "duration": fault.duration_ms,
                  "jitter": fault.jitter_ms, "rate": fault.rate, "status": fault.status,
                  "ttl": max(1, round(ttl_s))}  # fmt: skip
        params = {name: value for name, value in values.items() if value is not None}
        path = f"/simulate/{fault.kind}"
        response = await self._chaos("POST", fault.service, path, params)
        return parse_answer(fault.service, "POST", path, response, FaultCreated).fault.id

    async def faults(self, service: str) -> FaultList:
        """The faults active on `service`, with when each expires."""
        response = await self._chaos("GET", service, "/simulate")
        return parse_answer(service, "GET", "/simulate", response, FaultList)

    async def remove_fault(self, service: str, fault_id: str) -> bool:
        """Remove one fault; False if it was already gone (expired)."""
        path = f"/simulate/{fault_id}"
        response = await self._chaos("DELETE", service, path, missing_ok=True)
        if response.status_code == 404:
            return False
        return parse_answer(service, "DELETE", path, response, FaultsRemoved).removed > 0

    async def clear_faults(self, services: tuple[str, ...] = SHOP) -> dict[str, int]:
        """Remove every fault on every service (tries them all); faults removed per service."""
        removed: dict[str, int] = {}
        failures: list[str] = []
        for service in services:
            try:
                response = await self._chaos("DELETE", service, "/simulate")
                removed[service] = parse_answer(
                    service, "DELETE", "/simulate", response, FaultsRemoved
                ).removed
            except StackError as exc:
                failures.append(str(exc))
        if failures:
            raise StackError("could not clear every fault: " + "; ".join(failures))
        return removed

    async def _chaos(
        self,
        method: str,
        service: str,
        path: str,
        params: Mapping[str, str | int | float] | None = None,
        *,
        missing_ok: bool = False,
    ) -> httpx.Response:
        headers = {TOKEN_HEADER: self.settings.require_chaos_token()}
        url = f"{self.settings.url(service)}{path}"
        try:
            response = await self.http.request(method, url, params=params, headers=headers)
        except httpx.HTTPError as exc:
            raise StackError(
                f"{service} does not answer at {url} ({exc!r}); {NOT_RUNNING}"
            ) from exc
        status = response.status_code
        if status < 400 or (missing_ok and status == 404):
            return response
        detail = refusal_detail(response)
        if status in (401, 403):
            raise StackError(
                f"{service} refused the chaos token ({status}: {detail}): the stack runs with "
                "another token than this one (AIOPS_CHAOS_TOKEN from the environment or "
                ".env, else the stack's generated one), or chaos is disabled"
            )
        if status == 404:
            raise StackError(f"{service} has no chaos API (404): rebuild the stack with `make up`")
        raise StackError(f"{service} rejected {method} {path} ({status}): {detail}")

    # Containers.

    async def stop_service(self, service: str) -> None:
        await self._compose("stop", service)

    async def start_service(self, service: str, *, timeout_s: float = 90.0) -> None:
        """Start a stopped container and wait until its /health answers again."""
        await self._compose("start", service)
        await self.wait_healthy(service, timeout_s=timeout_s)

    async def _compose(self, *args: str, timeout_s: float = 120.0) -> None:
        command = self.settings.compose_command(*args)
        shown = " ".join(command)
        try:
            process = await asyncio.create_subprocess_exec(
                *command,
                cwd=self.settings.repo_root,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
        except FileNotFoundError as exc:
            raise StackError(
                f"cannot run `{shown}`: docker is not installed or not on PATH"
            ) from exc
        try:
            async with asyncio.timeout(timeout_s):
                _, stderr = await process.communicate()
        except TimeoutError:
            process.kill()
            await process.wait()
            raise StackError(f"`{shown}` did not finish within {timeout_s:g} s") from None
        if process.returncode != 0:
            tail = stderr.decode(errors="replace").strip()[-2000:]
            raise StackError(f"`{shown}` failed (exit {process.returncode}): {tail}")

    # The analyzer.

    async def incidents(self, status: str | None = None) -> list[Incident]:
        params = {"limit": 1000} | ({"status": status} if status else {})
        return await self._analyzer("GET", "/incidents", INCIDENTS, params)

    async def open_incidents(self) -> list[Incident]:
        return await self.incidents("open")

    async def resolve_incident(self, incident_id: str) -> Incident:
        return await self._analyzer("POST", f"/incidents/{incident_id}/resolve", Incident)

    async def baselines(self) -> list[BaselineRecord]:
        return await self._analyzer("GET", "/baselines", BASELINES)

    async def analyzer_health(self) -> AnalyzerHealth:
        return await self._analyzer("GET", "/health", AnalyzerHealth)

    async def active_anomalies(self) -> list[AnomalyRecord]:
        return (await self._analyzer("GET", "/anomalies", Anomalies, {"minutes": 5})).active

    async def _analyzer(
        self,
        method: str,
        path: str,
        shape: type[T] | TypeAdapter[T],
        params: Mapping[str, str | int] | None = None,
    ) -> T:
        """The analyzer's answer to `method path`, parsed as `shape`; StackError otherwise."""
        url = f"{self.settings.url('analyzer')}{path}"
        try:
            response = await self.http.request(method, url, params=params)
        except httpx.HTTPError as exc:
            raise StackError(
                f"the analyzer does not answer at {url} ({exc!r}); {NOT_RUNNING}"
            ) from exc
        if response.status_code >= 400:
            status = response.status_code
            raise StackError(
                f"the analyzer answered {method} {path} with {status}: {refusal_detail(response)}"
            )
        return parse_answer("the analyzer", method, path, response, shape)

    # Telemetry.

    @asynccontextmanager
    async def database(self) -> AsyncIterator[asyncpg.Connection]:
        """A connection to the stack's PostgreSQL, as the tables' owner."""
        try:
            conn: asyncpg.Connection = await asyncpg.connect(self.settings.database_url, timeout=10)
        except (OSError, asyncpg.PostgresError) as exc:
            raise StackError(
                f"cannot reach the stack's PostgreSQL on {HOST}:{self.settings.ports['postgres']} "
                f"({exc}); {NOT_RUNNING}"
            ) from exc
        try:
            yield conn
        finally:
            await conn.close()

    async def samples(self, start: datetime, end: datetime) -> list[Sample]:
        """Per second and per server endpoint between `start` and `end`, from PostgreSQL."""
        async with self.database() as conn:
            rows = await conn.fetch(SAMPLES_SQL, start, end)
        fields = ("at", "endpoint", "requests", "errors", "p50_ms")
        return [Sample(*(row[name] for name in fields)) for row in rows]
