"""The app the middleware tests serve: one route of each kind they tell apart."""

from __future__ import annotations

import logging

from fastapi import FastAPI


def sample_app() -> FastAPI:
    """A templated path that logs a line, one whose handler raises, and a health probe."""
    app = FastAPI()

    @app.get("/items/{item_id}")
    async def item(item_id: int) -> dict[str, int]:
        logging.getLogger("handler").info("looking up %d", item_id)
        return {"item_id": item_id}

    @app.get("/boom")
    async def boom() -> None:
        raise ValueError("boom: the handler failed")

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
