"""The containers the suite starts run the stack's own PostgreSQL and Redis images."""

from __future__ import annotations

from pathlib import Path

import yaml  # type: ignore[import-untyped]  # comes with uvicorn[standard], without stubs

from tests.support.compose import ROOT
from tests.support.containers import COMPOSE_FILE


def images(compose_file: Path) -> dict[str, str]:
    services = yaml.safe_load(compose_file.read_text())["services"]
    return {name: service["image"] for name, service in services.items() if "image" in service}


def test_the_suite_runs_the_stacks_postgres_and_redis_images() -> None:
    """tests/compose.yaml follows docker-compose.yml when an image changes."""
    stack, tests = images(ROOT / "docker-compose.yml"), images(COMPOSE_FILE)
    assert tests["postgres"] == tests["outage-postgres"] == stack["postgres"]
    assert tests["redis"] == stack["redis"]
