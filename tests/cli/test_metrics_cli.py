"""`aiops metrics` against a real analyzer process: the watched series, one series' points
against their band, and a new normal accepted; series stored by the analyzer's own code."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from aiops_cli import main
from aiops_engine.metrics import Judgement, MetricConfig, MetricState, judge
from analyzer.store import metric_judgements, metric_states
from tests.support.containers import ContainerRedis
from tests.support.processes import ServiceProcess
from tests.support.telemetry_rows import schema_connection

TAG = secrets.token_hex(3)
LATENCY = f"cli-{TAG}:http.server.duration.p95{{http.route=/a/{{id}}}}"
ORDERS = f"cli-{TAG}:orders"
STEP = timedelta(seconds=30)


@pytest.fixture(scope="module")
def analyzer(database_url: str, redis_server: ContainerRedis) -> Iterator[ServiceProcess]:
    process = ServiceProcess(
        "analyzer.app:create_app",
        {
            "AIOPS_DATABASE_URL": database_url,
            "AIOPS_PARTITION_MAINTENANCE": "false",  # the session database is shared
            "AIOPS_REDIS_URL": redis_server.reset(),
            "AIOPS_ANALYSIS_INTERVAL": "300",  # no cycle touches the test's series meanwhile
        },
    ).start()
    yield process
    process.stop()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def split(line: str) -> list[str]:
    return re.split(r"\s{2,}", line.strip())


def judged(series: str, values: list[float]) -> tuple[MetricState, list[Judgement]]:
    start = datetime.now(UTC).replace(microsecond=0) - len(values) * STEP
    state: MetricState | None = None
    verdicts = []
    for i, value in enumerate(values):
        state, verdict = judge(state, series, start + i * STEP, value, MetricConfig(min_points=10))
        verdicts.append(verdict)
    assert state is not None
    return state, verdicts


@pytest.fixture(scope="module")
async def watched(analyzer: ServiceProcess, database_url: str) -> dict[str, list[Judgement]]:
    """LATENCY ending anomalous (a shift), ORDERS steady: stored as a cycle stores them."""
    latency, latency_judged = judged(LATENCY, [100.0 + i % 5 for i in range(40)] + [500.0] * 2)
    orders, orders_judged = judged(ORDERS, [7.0 + i % 3 for i in range(40)])
    states = {LATENCY: latency, ORDERS: orders}
    owners = {LATENCY: (f"cli-{TAG}", "up"), ORDERS: (f"cli-{TAG}", "both")}
    async with schema_connection(database_url, analyzer=True) as conn:
        await metric_states.save_states(conn, states, owners)
        await metric_judgements.save_judgements(conn, [*latency_judged, *orders_judged])
    return {LATENCY: latency_judged, ORDERS: orders_judged}


async def test_metrics_lists_the_watched_series_anomalous_first(
    analyzer: ServiceProcess,
    watched: dict[str, list[Judgement]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, _ = run(capsys, "--url", analyzer.url, "metrics")
    assert status == 0
    header, *rows = out.splitlines()
    assert split(header) == [
        "SERIES", "SERVICE", "ALERTS", "LAST (UTC)", "VALUE", "EXPECTED", "NORMAL", "STATE",
    ]  # fmt: skip
    mine = [split(row) for row in rows if row.startswith(f"cli-{TAG}:")]
    last = watched[LATENCY][-1]
    assert last.expected is not None
    assert [cells[0] for cells in mine] == [LATENCY, ORDERS]
    assert mine[0][1:5] == [f"cli-{TAG}", "when higher", f"{last.at:%Y-%m-%d %H:%M:%S}", "500"]
    assert mine[0][-1] == "ANOMALOUS"
    assert (mine[1][2], mine[1][-1]) == ("either way", "ok")
    assert rows.index(next(r for r in rows if r.startswith(LATENCY))) < rows.index(
        next(r for r in rows if r.startswith(ORDERS))
    )
    _, raw, _ = run(capsys, "--url", analyzer.url, "metrics", "--json")
    assert {LATENCY, ORDERS} <= {s["series"] for s in json.loads(raw)}


async def test_metrics_show_prints_each_point_against_its_band_and_why_the_last_is_so(
    analyzer: ServiceProcess,
    watched: dict[str, list[Judgement]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, _ = run(capsys, "--url", analyzer.url, "metrics", "show", LATENCY, "--limit", "5")
    assert status == 0
    lines = out.splitlines()
    assert lines[0] == f"{LATENCY}: 5 points, 2 anomalous"
    assert split(lines[2]) == ["AT (UTC)", "VALUE", "EXPECTED", "LOWER", "UPPER", "SCORE", "STATE"]
    table = [split(line) for line in lines[3:8]]
    assert [cells[0] for cells in table] == [
        f"{j.at:%Y-%m-%d %H:%M:%S}" for j in watched[LATENCY][-5:]
    ]
    assert [cells[-1] for cells in table] == ["ok", "ok", "ok", "ANOMALOUS", "ANOMALOUS"]
    assert lines[-1] == f"last: {watched[LATENCY][-1].explanation}"


async def test_metrics_accept_asks_for_a_new_normal_and_an_unknown_series_is_refused(
    analyzer: ServiceProcess,
    watched: dict[str, list[Judgement]],
    db: asyncpg.Connection,
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, _ = run(capsys, "--url", analyzer.url, "metrics", "accept", LATENCY)
    assert status == 0
    assert out.startswith(f"{LATENCY}: new normal requested at ")
    assert out.endswith("the next analysis cycle adopts its current level\n")
    assert LATENCY in await metric_states.pending_accepts(db)
    await metric_states.clear_accepts(
        db, {LATENCY: (await metric_states.pending_accepts(db))[LATENCY]}
    )
    status, out, err = run(capsys, "--url", analyzer.url, "metrics", "accept", f"{LATENCY}-none")
    assert (status, out) == (1, "")
    assert err.startswith(f"aiops: no metric series '{LATENCY}-none' is watched")
    status, _, err = run(capsys, "--url", analyzer.url, "metrics", "show", f"{LATENCY}-none")
    assert status == 1
    assert "GET /metric-series" in err
