"""Chaos on the real compose stack: the API on every service, `evaluate` on one scenario, and
a cold start's restarts of the analyzer through `docker compose`."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from aiops_chaos.cold_start import restore_learned_state, start_cold
from aiops_chaos.stack import Stack, StackSettings
from tests.support.compose import ROOT, ComposeStack, running_stack
from tests.support.polling import eventually

pytestmark = pytest.mark.e2e

SHOP = {"checkout": "/checkout", "payment": "/payment", "inventory": "/inventory/reserve"}
ORDER = {"items": [{"sku": "SKU-001", "quantity": 1}], "amount": 19.99, "currency": "USD"}


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


async def test_a_cold_start_restarts_the_analyzer_knowing_nothing_then_gives_it_all_back(
    stack: ComposeStack,
) -> None:
    """What `cold_start = true` does to the stack: the analyzer restarted with no baselines and
    no graph while telemetry stays, then, after the run, restarted with them back."""
    settings = StackSettings(
        repo_root=ROOT,
        ports={s: int(stack.url(s).rsplit(":", 1)[1]) for s in (*SHOP, "analyzer", "postgres")},
        chaos_token=stack.chaos_token,
        postgres_password=stack.postgres_password,
        compose_project=stack.project,
    )
    analyzer = stack.url("analyzer")
    async with httpx.AsyncClient(timeout=10) as client:
        for _ in range(20):
            await client.post(f"{stack.url('checkout')}/checkout", json=ORDER)

        async def learned() -> list[dict[str, object]]:
            return list((await client.get(f"{analyzer}/baselines")).json())

        before = await eventually(learned, within=30, what="baselines from the traffic")
        async with stack.database() as conn:
            spans = await conn.fetchval("SELECT count(*) FROM telemetry")
        lines: list[str] = []
        notes: list[str] = []
        async with Stack(settings) as chaos:
            state = await start_cold(chaos, lines.append, notes)
            health = (await client.get(f"{analyzer}/health")).json()
            assert (health["role"], health["baselines"]) == ("leader", 0)
            assert await learned() == []
            assert (await client.get(f"{analyzer}/dependencies")).json()["edges"] == []
            async with stack.database() as conn:
                assert await conn.fetchval("SELECT count(*) FROM telemetry") >= spans
            assert await restore_learned_state(chaos, state, lines.append) == []
        assert notes == [], lines
        columns, rows = state.tables["analyzer_baselines"]
        taken = {tuple(row[columns.index(c)] for c in ("kind", "service", "target", "windows"))
                 for row in rows}  # fmt: skip
        assert {(b["kind"], b["service"], b["target"]) for b in before} <= {t[:3] for t in taken}
        assert {(b["kind"], b["service"], b["target"], b["windows"]) for b in await learned()} == (
            taken
        )
