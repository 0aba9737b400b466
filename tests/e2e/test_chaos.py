"""Chaos on the real compose stack: the API on every service, and `evaluate` on one scenario."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.compose import ROOT, ComposeStack, running_stack

pytestmark = pytest.mark.e2e

SHOP = {"checkout": "/checkout", "payment": "/payment", "inventory": "/inventory/reserve"}


@pytest.fixture(scope="module")
def stack() -> Iterator[ComposeStack]:
    # Shorter cycles, so baselines are established within the test's warm-up.
    with running_stack(AIOPS_ANALYSIS_INTERVAL="2") as stack:
        yield stack


@pytest.mark.parametrize("service", sorted(SHOP))
def test_every_service_has_the_chaos_api_behind_the_stacks_token(
    stack: ComposeStack, service: str
) -> None:
    url, endpoint = stack.url(service), SHOP[service]
    token = {"X-Chaos-Token": stack.chaos_token}
    params: dict[str, str | float] = {"endpoint": endpoint, "rate": 1.0, "ttl": 30}
    assert httpx.post(f"{url}/simulate/error", params=params).status_code == 401
    wrong = httpx.post(f"{url}/simulate/error", params=params, headers={"X-Chaos-Token": "no"})
    assert wrong.status_code == 403
    created = httpx.post(f"{url}/simulate/error", params=params, headers=token)
    assert created.status_code == 201, created.text
    assert [
        f["endpoint"] for f in httpx.get(f"{url}/simulate", headers=token).json()["faults"]
    ] == [endpoint]
    assert httpx.delete(f"{url}/simulate", headers=token).json()["removed"] == 1


def test_evaluate_scores_a_scenario_against_the_stack(stack: ComposeStack, tmp_path: Path) -> None:
    """The harness end to end: inject, detect, score, and write JSON, Markdown and a PNG."""
    env = {**stack.env, "COMPOSE_PROJECT_NAME": stack.project}
    result = subprocess.run(
        [sys.executable, "-m", "aiops_chaos", "evaluate", "--only", "cascading-failure",
         "--out", str(tmp_path)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    report = json.loads((tmp_path / "evaluation.json").read_text())
    [scenario] = report["scenarios"]
    assert scenario["name"] == "cascading-failure"
    assert scenario["detected"] is True
    assert scenario["rca_top1_correct"] is True
    assert scenario["expected_root_cause"] == [{"service": "payment", "endpoint": "/payment"}]
    assert scenario["false_positives"] == 0
    assert (tmp_path / "evaluation.md").read_text().count("cascading-failure") >= 1
    assert (tmp_path / "cascading-failure.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
