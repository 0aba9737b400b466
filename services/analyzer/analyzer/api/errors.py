"""PostgreSQL away: every route that reads it answers 503 with a reason, from one handler.

The routes check connections out of `Database` (a bounded wait, and a prompt
refusal while the last attempt failed moments ago) or run a cycle on the
loop's pool; whatever of `DATABASE_UNAVAILABLE` they raise (refused, reset,
timed out, shut down) ends here instead of as a plain-text 500.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse

from aiops_api.common import ErrorDetail, error
from aiops_telemetry import DATABASE_UNAVAILABLE, unavailable_reason

logger = logging.getLogger("analyzer.api")

# What a route documents when it reads PostgreSQL.
DATABASE_DOWN = error(
    503, "PostgreSQL is unreachable or no connection was free in time: try again shortly"
)


def database_unavailable_detail(exc: BaseException) -> str:
    return (
        f"PostgreSQL is unreachable ({unavailable_reason(exc)}); the analyzer retries by "
        "itself: try again shortly, and if it lasts check `docker compose ps postgres` "
        "and AIOPS_DATABASE_URL."
    )


async def database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    # The access log has each 503 and the loop logs the outage itself; at DEBUG, a dashboard
    # polling through an outage does not double every line.
    logger.debug("PostgreSQL unavailable, answered 503: %s", unavailable_reason(exc))
    body = ErrorDetail(detail=database_unavailable_detail(exc))
    return JSONResponse(
        body.model_dump(mode="json"), status_code=status.HTTP_503_SERVICE_UNAVAILABLE
    )


def register_error_handlers(app: FastAPI) -> None:
    """Answer 503 with `ErrorDetail` for every failure of the database itself."""
    for exc_type in DATABASE_UNAVAILABLE:
        app.add_exception_handler(exc_type, database_unavailable)
