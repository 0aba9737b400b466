"""Export → replay reproduces a live incident: the live analyzer's root cause, found again
offline from the file `aiops export` wrote.

Real processes: the shop (checkout → payment, inventory, with the chaos API on),
the analyzer, then the `aiops` CLI twice (export from PostgreSQL, replay of
the file). Both analyses use the same short windows.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Shop, running_shop, service_env
from tests.examples.live_analyzer import (
    analyzer_env,
    established,
    forget_learned_state,
    open_incident,
)
from tests.support.containers import ContainerRedis
from tests.support.processes import ServiceProcess
from tests.support.traffic import checkouts

TOKEN = "export-replay-chaos-token"
SHOP = ("checkout", "payment", "inventory")
# The live analyzer's windows and baseline length (FAST_ANALYSIS), given to replay as options.
REPLAY_OPTIONS = ("--window", "1", "--baseline-min-windows", "5", "--ingest-lag", "0.5")


@pytest.fixture
async def live(
    database_url: str, redis_server: ContainerRedis
) -> AsyncIterator[tuple[Shop, ServiceProcess]]:
    """The shop with its chaos API open, and an analyzer with one-second windows."""
    await forget_learned_state(database_url)
    with running_shop(service_env(database_url, AIOPS_CHAOS_TOKEN=TOKEN)) as shop:
        analyzer = ServiceProcess(
            "analyzer.app:create_app", analyzer_env(database_url, redis_server.reset())
        ).start()
        try:
            yield shop, analyzer
        finally:
            analyzer.stop()


async def aiops(*argv: str) -> str:
    """`aiops ARGV...` as a process; its stdout, or a failure with its stderr."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "aiops_cli", *argv,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 300)
    assert process.returncode == 0, f"aiops {' '.join(argv)}: {err.decode()[-3000:]}"
    return out.decode()


def first_incident_from(report: dict[str, Any], moment: datetime) -> dict[str, Any]:
    """The first incident the replay opened at or after `moment` (simulated time)."""
    opened = sorted(
        (i for i in report["incidents"] if datetime.fromisoformat(i["opened_at"]) >= moment),
        key=lambda i: datetime.fromisoformat(i["opened_at"]),
    )
    summary = [(i["opened_at"], i["root_cause"]) for i in report["incidents"]]
    assert opened, f"replay opened no incident after {moment.isoformat()}: {summary}"
    first: dict[str, Any] = opened[0]
    return first


async def test_a_replayed_export_finds_the_live_incidents_root_cause(
    live: tuple[Shop, ServiceProcess], database_url: str, tmp_path: Path
) -> None:
    shop, analyzer = live
    since = datetime.now(UTC) - timedelta(seconds=1)
    async with httpx.AsyncClient(timeout=10) as client, checkouts(shop.checkout.url):
        await established(client, analyzer.url, "payment", "/payment")
        fault_at = datetime.now(UTC)
        injected = await client.post(
            f"{shop.payment.url}/simulate/delay",
            params={"endpoint": "/payment", "duration": 600},
            headers={"X-Chaos-Token": TOKEN},
        )
        assert injected.status_code == 201, injected.text
        incident = await open_incident(client, analyzer.url, lambda i: True)
        await asyncio.sleep(2)  # the sinks' last rows of the incident's windows
    until = datetime.now(UTC)
    assert incident["root_cause"]["service"] == "payment", incident

    recording = tmp_path / "incident.jsonl.gz"
    exported = await aiops(
        "export", str(recording), "--database-url", database_url,
        "--since", since.isoformat(), "--until", until.isoformat(),
        *(option for service in SHOP for option in ("--service", service)),
    )  # fmt: skip
    assert "spans" in exported

    report_path = tmp_path / "report.json"
    await aiops("replay", str(recording), "--report", str(report_path), *REPLAY_OPTIONS)
    report = json.loads(report_path.read_text())
    replayed = first_incident_from(report, fault_at)
    assert replayed["root_cause"] == {
        "service": incident["root_cause"]["service"],
        "endpoint": incident["root_cause"]["endpoint"],
    }, (replayed, incident["root_cause"])
