"""Startup failures an operator must act on, reported as one line instead of a traceback.

A service that cannot log in to its database will not get better by
retrying: it should stop at once and say what to do. Starlette reports any
exception from a lifespan as its full traceback; `StartupErrorReporter`
replaces that with the message of a `StartupError`, which uvicorn logs
before it exits (status 3). Other exceptions keep their traceback.
"""

from __future__ import annotations

import asyncpg
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REFUSED_DATABASE_LOGIN = (
    "PostgreSQL refused the login ({reason}): the database volume keeps the password it was "
    "created with. Use that one again (keep the old .env or the stack's secrets volume), "
    "or start over with `make down V=1` (deletes the stack's data)."
)


class StartupError(RuntimeError):
    """The service cannot start as configured; the message says what to do, on one line."""


def database_login_error(exc: asyncpg.InvalidAuthorizationSpecificationError) -> StartupError:
    """The `StartupError` for a login PostgreSQL refused (wrong password, unknown user)."""
    return StartupError(REFUSED_DATABASE_LOGIN.format(reason=str(exc).strip()))


class StartupErrorReporter:
    """Pure ASGI: a `StartupError` raised while the app starts fails the lifespan with its
    message alone; everything else passes through untouched."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return
        held: list[Message] = []

        async def send_or_hold(message: Message) -> None:
            # Starlette sends the failure (with a traceback) before it re-raises: hold it
            # until the exception says whether it is ours.
            if message["type"] == "lifespan.startup.failed":
                held.append(message)
            else:
                await send(message)

        try:
            await self.app(scope, receive, send_or_hold)
        except StartupError as exc:
            await send({"type": "lifespan.startup.failed", "message": str(exc)})
            return
        except BaseException:
            await _send_all(send, held)
            raise
        await _send_all(send, held)


async def _send_all(send: Send, messages: list[Message]) -> None:
    for message in messages:
        await send(message)
