"""The receiver as a real uvicorn process on the session's PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import service_env
from tests.support.processes import ServiceProcess, free_port

APP = "ingest.app:create_app"
MAX_BODY = 1024 * 1024  # small, so that the tests can go over it cheaply


@pytest.fixture(scope="session")
def ingest(database_url: str) -> Iterator[ServiceProcess]:
    process = ServiceProcess(
        APP, service_env(database_url, AIOPS_OTLP_MAX_BODY_BYTES=str(MAX_BODY))
    ).start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module")
def stalled_ingest() -> Iterator[ServiceProcess]:
    """A receiver whose database never answers and whose buffer holds 100 rows: it fills."""
    env = {
        "AIOPS_DATABASE_URL": f"postgresql://aiops@127.0.0.1:{free_port()}/aiops",
        "AIOPS_TELEMETRY_MAX_BUFFERED": "100",
        "AIOPS_OTLP_RETRY_AFTER": "7",
    }
    process = ServiceProcess(APP, env).start()
    try:
        yield process
    finally:
        process.stop()
