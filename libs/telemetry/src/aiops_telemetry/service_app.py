"""A shop service's FastAPI app, wired the way every shop service is: `create_service_app`.

What the services share, once: the logging setup, the `Telemetry` kit (tracing,
`/health`, the chaos API) and its lifespan, the simulated work, the service's own
PostgreSQL (a migrated pool behind `Database`, state `db`, with a `database`
health check), a 503 while that database is unavailable, a retention task, and
the service's own error answers (`ErrorAnswers`). What is left to a service is
its business: its routes, its errors, what its lifespan starts besides.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any, TypeVar

from fastapi import APIRouter, Depends, FastAPI, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from ._db import DATABASE_UNAVAILABLE
from ._settings import DatabaseServiceSettings
from ._work import SimulatedWork
from .context import current_trace_id
from .database import Database, database_check
from .logs import configure_logging_from
from .retention import RetentionTask
from .service import HealthCheck, Telemetry, package_version

E = TypeVar("E", bound=Exception)
Handler = Callable[[Request, Exception], Awaitable[JSONResponse]]
# What a service starts besides its database, inside the lifespan: contexts it enters
# on the stack end (in reverse) when the lifespan does. It returns its state entries.
Start = Callable[[Telemetry, Database, AsyncExitStack], Awaitable[Mapping[str, Any]]]


def from_state(name: str) -> Any:
    """A dependency on what the lifespan yielded as state `name`:
    `CompensatorDep = Annotated[Compensator, from_state("compensator")]`."""

    # async: a plain `def` dependency runs in the threadpool on every request
    async def get(request: Request) -> Any:
        return getattr(request.state, name)

    return Depends(get)


class ErrorAnswers:
    """The exceptions a service answers itself, each with its status and body.

    The body is a pydantic model; a field it was not given (an optional one left at
    its default) is left out of the answer, so an error carries only the facts it has.
    """

    def __init__(self) -> None:
        self._handlers: dict[type[Exception], Handler] = {}

    def add(
        self,
        exc_type: type[E],
        status_code: int | Callable[[E], int],
        body: Callable[[E], BaseModel],
    ) -> ErrorAnswers:
        """Answer `exc_type` (and its subclasses) with `status_code` and `body(exc)`."""

        async def answer(_: Request, exc: Exception) -> JSONResponse:
            assert isinstance(exc, exc_type)
            code = status_code if isinstance(status_code, int) else status_code(exc)
            return JSONResponse(body(exc).model_dump(mode="json", exclude_unset=True), code)

        self._handlers[exc_type] = answer
        return self

    def register(self, app: FastAPI) -> None:
        for exc_type, handler in self._handlers.items():
            app.add_exception_handler(exc_type, handler)


def database_unavailable(service_name: str) -> Handler:
    """The 503 of a service whose database is down, unreachable or too slow: retry shortly.

    `DATABASE_UNAVAILABLE` are failures of the database, not of a query; `DatabaseAway`
    (refused at once while it is away) is one of them.
    """

    async def answer(_: Request, exc: Exception) -> JSONResponse:
        detail = f"{service_name} database unavailable ({type(exc).__name__}); retry shortly"
        return JSONResponse(
            {"detail": detail, "trace_id": current_trace_id()},
            status.HTTP_503_SERVICE_UNAVAILABLE,
        )

    return answer


def create_service_app(
    settings: DatabaseServiceSettings,
    *,
    name: str,
    router: APIRouter,
    errors: ErrorAnswers | None = None,
    retention: Callable[[Database], RetentionTask] | None = None,
    start: Start | None = None,
    checks: Mapping[str, HealthCheck] | None = None,
) -> FastAPI:
    """The app of shop service `name` (distribution `aiops-<name>`, migrations in package
    `name`), its state `db` and `work` plus what `start` returns.

    The lifespan: the telemetry sink, the database (migrated), the `retention` task, then
    `start`; at shutdown the same in reverse. `/health` checks `database`, then `checks`.
    Exceptions of the database itself answer 503 naming it; `errors` answer the rest.
    """
    configure_logging_from(settings, service=settings.service_name)
    telemetry = Telemetry(settings, version=package_version(f"aiops-{name}"))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        async with AsyncExitStack() as stack:
            await stack.enter_async_context(telemetry)
            db = await stack.enter_async_context(
                telemetry.database(
                    migrations=name, pool_size=settings.db_pool_size, timeout=settings.db_timeout
                )
            )
            if retention is not None:
                await stack.enter_async_context(retention(db).running())
            state: dict[str, Any] = {
                "db": db,
                "work": SimulatedWork(settings.work_ms, settings.work_jitter),
            }
            if start is not None:
                state.update(await start(telemetry, db, stack))
            yield state

    app = FastAPI(title=name, version=telemetry.version, lifespan=lifespan)
    telemetry.instrument(app, checks={"database": database_check, **(checks or {})})
    unavailable = database_unavailable(settings.service_name)
    for exc_type in DATABASE_UNAVAILABLE:
        app.add_exception_handler(exc_type, unavailable)
    if errors is not None:
        errors.register(app)
    app.include_router(router)
    return app
