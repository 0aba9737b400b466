"""`aiops` against a real analyzer process, with incidents stored by the analyzer's own code."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from redis.asyncio import Redis

from aiops_cli import build_parser, main
from aiops_engine.detection import Anomaly, AnomalyType, SeriesKey
from aiops_engine.incidents import Incident, IncidentPolicy
from aiops_engine.incidents.lifecycle import changes, new_incident_id, open_incident
from aiops_engine.rca import Candidate, Finding, Suspect
from aiops_telemetry import CLIENT, COLUMNS, SERVER, apply_migrations, span_row
from analyzer.incidents import IncidentStore
from analyzer.store import incident_history
from tests.support.containers import ContainerRedis
from tests.support.fake_http import fake_server
from tests.support.processes import ServiceProcess, free_port

PAYMENT = Suspect("payment", "/payment")


@pytest.fixture(scope="module")
def analyzer(database_url: str, redis_server: ContainerRedis) -> Iterator[ServiceProcess]:
    process = ServiceProcess(
        "analyzer.app:create_app",
        {
            "AIOPS_DATABASE_URL": database_url,
            "AIOPS_PARTITION_MAINTENANCE": "false",  # the session database is shared
            "AIOPS_REDIS_URL": redis_server.reset(),  # empty: no other leader holds the lock
            "AIOPS_ANALYSIS_INTERVAL": "300",  # no cycle touches the test's incidents meanwhile
        },
    ).start()
    yield process
    process.stop()


@pytest.fixture
async def conn(db: asyncpg.Connection, analyzer: ServiceProcess) -> asyncpg.Connection:
    await apply_migrations(db, component="analyzer", package="analyzer")
    return db


def split(line: str) -> list[str]:
    """A table row's cells: columns are separated by two spaces or more."""
    return re.split(r"\s{2,}", line.strip())


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def payment_failing(now: datetime) -> Finding:
    """Payment failing, seen at checkout too: what a cycle would hand the incident desk."""

    def anomaly(key: SeriesKey) -> Anomaly:
        return Anomaly(
            type=AnomalyType.ERROR_SPIKE,
            key=key,
            observed=0.9,
            baseline=0.01,
            threshold=0.2,
            window_start=now - timedelta(seconds=5),
            window_end=now,
            sample_count=40,
            score=0.95,
            sample_trace_ids=("trace-a",),
            explanation=f"{key}: 90% of 40 requests failed (usually 1%)",
        )

    return Finding(
        root_cause=PAYMENT,
        candidates=(
            Candidate(PAYMENT, 0.8, 4, "failed first in 4/5 traces"),
            Candidate(Suspect("checkout", "/checkout"), 0.2, 1, "failed first in 1/5 traces"),
        ),
        confidence=0.8,
        anomalies=(
            anomaly(SeriesKey.endpoint("payment", "/payment")),
            anomaly(SeriesKey.edge("checkout", "payment")),
        ),
        trace_ids=("trace-a", "trace-b"),
        explanation="payment /payment failed first in 4/5 traces",
    )


async def opened(redis: ContainerRedis, conn: asyncpg.Connection, later_s: int = 0) -> Incident:
    """An incident opened now, stored in Redis and in the history table as the desk does."""
    now = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=later_s)
    incident = open_incident(
        payment_failing(now),
        incident_id=new_incident_id(now, uuid.uuid4().hex[:8]),
        now=now,
        policy=IncidentPolicy(),
    )
    async with Redis.from_url(redis.url) as client:
        assert await IncidentStore(client, ttl_s=3600).create(incident)
    await incident_history.append(conn, changes(None, incident, now=now))
    return incident


@pytest.fixture
async def incident(redis_server: ContainerRedis, conn: asyncpg.Connection) -> Incident:
    return await opened(redis_server, conn)


async def test_incidents_prints_one_aligned_row_per_incident(
    analyzer: ServiceProcess,
    redis_server: ContainerRedis,
    conn: asyncpg.Connection,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Newest first, every column under its header; --json gives the API's list."""
    first, second = await opened(redis_server, conn), await opened(redis_server, conn, later_s=1)
    status, out, _ = run(capsys, "--url", analyzer.url, "incidents", "--status", "open")
    assert status == 0
    header, *rows = out.splitlines()
    assert split(header) == [
        "ID", "STATUS", "SEVERITY", "ROOT CAUSE", "CONFIDENCE", "OPENED (UTC)", "TITLE",
    ]  # fmt: skip
    mine = [row for row in rows if row.startswith((first.id, second.id))]
    assert [split(row) for row in mine] == [
        [
            i.id,
            "open",
            "critical",
            "payment /payment",
            "80%",
            f"{i.opened_at:%Y-%m-%d %H:%M:%S}",
            "payment /payment failing; affects checkout",
        ]
        for i in (second, first)  # newest first
    ]
    assert {row.index("open") for row in mine} == {header.index("STATUS")}
    _, raw, _ = run(capsys, "--url", analyzer.url, "incidents", "--json")
    assert {first.id, second.id} <= {i["id"] for i in json.loads(raw)}


async def test_incident_shows_root_cause_candidates_evidence_traces_and_history(
    analyzer: ServiceProcess, incident: Incident, capsys: pytest.CaptureFixture[str]
) -> None:
    """Everything needed to act on it, from one command."""
    status, out, _ = run(capsys, "incident", incident.id, "--url", analyzer.url)
    assert status == 0
    lines = out.splitlines()
    assert lines[0] == f"{incident.id}  payment /payment failing; affects checkout"
    assert re.search(r"^root cause +payment /payment \(confidence 80%\)$", out, re.M)
    assert re.search(r"^why +payment /payment failed first in 4/5 traces$", out, re.M)
    assert ["payment /payment", "80%", "4", "failed first in 4/5 traces"] in map(split, lines)
    assert ["checkout /checkout", "20%", "1", "failed first in 1/5 traces"] in map(split, lines)
    assert "    checkout → payment: 90% of 40 requests failed (usually 1%)" in lines
    ending = f"window ending {incident.last_anomaly_at:%Y-%m-%d %H:%M:%S}"
    assert f"  payment /payment: error_spike, 90% (baseline 1%, threshold 20%), {ending}" in lines
    assert ["trace-a"] in map(split, lines)
    assert ["trace-b"] in map(split, lines)
    assert [
        f"{incident.opened_at:%Y-%m-%d %H:%M:%S}", "opened", "open", "critical",
        "payment /payment failing; affects checkout (critical)",
    ] in map(split, lines)  # fmt: skip


async def test_ack_then_resolve_change_the_status_and_the_history_records_both(
    analyzer: ServiceProcess, incident: Incident, capsys: pytest.CaptureFixture[str]
) -> None:
    """Resolving twice is refused with the API's 409 detail."""
    title = "payment /payment failing; affects checkout"
    assert run(capsys, "--url", analyzer.url, "ack", incident.id)[:2] == (
        0, f"{incident.id} is acknowledged: {title}\n",
    )  # fmt: skip
    assert run(capsys, "--url", analyzer.url, "resolve", incident.id)[:2] == (
        0, f"{incident.id} is resolved: {title}\n",
    )  # fmt: skip
    _, out, _ = run(capsys, "--url", analyzer.url, "incident", incident.id)
    events = [cells[1] for cells in map(split, out.splitlines()) if len(cells) == 5]
    assert events[-3:] == ["opened", "acknowledged", "resolved"]
    status, _, err = run(capsys, "--url", analyzer.url, "resolve", incident.id)
    assert (status, err) == (1, f"aiops: {incident.id} is already resolved\n")


async def test_an_unknown_incident_prints_the_apis_404_detail_and_an_expired_one_its_history(
    analyzer: ServiceProcess, conn: asyncpg.Connection, capsys: pytest.CaptureFixture[str]
) -> None:
    """Gone from Redis but in PostgreSQL: the history is still shown."""
    status, out, err = run(capsys, "--url", analyzer.url, "incident", "INC-nope")
    assert (status, out) == (1, "")
    assert err == "aiops: no incident INC-nope; list them at GET /incidents\n"
    now = datetime.now(UTC)
    gone = open_incident(payment_failing(now), incident_id="INC-gone-" + uuid.uuid4().hex[:8],
                         now=now, policy=IncidentPolicy())  # fmt: skip
    await incident_history.append(conn, changes(None, gone, now=now))  # in PostgreSQL, not in Redis
    status, out, _ = run(capsys, "--url", analyzer.url, "incident", gone.id)
    assert status == 0
    assert out.startswith(f"{gone.id} has expired from Redis; its history (PostgreSQL):\n")
    assert "opened" in split(out.splitlines()[-1])


async def test_trace_prints_the_tree_indented_with_the_origin_marked(
    analyzer: ServiceProcess, conn: asyncpg.Connection, capsys: pytest.CaptureFixture[str]
) -> None:
    """Payment failed while calling nothing: the trouble starts there, not at checkout."""
    trace = f"cli-{uuid.uuid4().hex}"
    t0 = datetime(2022, 5, 1, tzinfo=UTC)  # far from any window an analyzer reads
    spans = [  # span id, parent, service, kind, endpoint, peer; each starts 1 ms after the last
        ("root", None, "checkout", SERVER, "/checkout", None),
        ("call", "root", "checkout", CLIENT, "/payment", "payment"),
        ("pay", "call", "payment", SERVER, "/payment", None),
    ]
    records = [
        span_row(
            timestamp=t0 + timedelta(milliseconds=n), service_name=service, endpoint=endpoint,
            method="POST", status_code=500, latency_ms=80.0 - n * 10,
            error_message="Traceback ...\nRuntimeError: card declined" if span == "pay" else None,
            trace_id=trace, span_id=span, parent_span_id=parent, kind=kind, peer_service=peer,
            error_kind=None,
        )
        for n, (span, parent, service, kind, endpoint, peer) in enumerate(spans)
    ]  # fmt: skip
    await conn.copy_records_to_table("telemetry", records=records, columns=COLUMNS)
    status, out, _ = run(capsys, "--url", analyzer.url, "trace", trace)
    assert status == 0
    head, verdict, blank, header, *rows = out.splitlines()
    assert head == f"trace {trace}: 3 spans across checkout, payment, 80.0 ms"
    assert (verdict, blank) == ("trouble starts at payment /payment (failed)", "")
    assert split(header) == ["SPAN", "STATUS", "LATENCY", "NOTE"]
    assert [split(r) for r in rows] == [
        ["checkout POST /checkout", "500", "80.0 ms"],
        ["checkout → payment POST /payment", "500", "70.0 ms"],
        [
            "payment POST /payment",
            "500",
            "60.0 ms",
            "◀ origin (failed)",
            "RuntimeError: card declined",
        ],
    ]
    assert rows[1].startswith("  checkout → payment")
    assert rows[2].startswith("    payment")


async def test_deps_prints_each_edge_with_calls_and_error_rate(
    analyzer: ServiceProcess, conn: asyncpg.Connection, capsys: pytest.CaptureFixture[str]
) -> None:
    """One row per learned caller → callee edge."""
    caller = f"cli-{uuid.uuid4().hex[:8]}"
    seen = datetime(2022, 5, 1, 12, 30, tzinfo=UTC)
    await conn.execute(
        "INSERT INTO analyzer_dependencies VALUES ($1, 'payment', 200, 10, $2, $2)", caller, seen
    )
    status, out, _ = run(capsys, "--url", analyzer.url, "deps")
    assert status == 0
    header, *rows = out.splitlines()
    assert split(header) == ["CALLER → CALLEE", "CALLS", "ERRORS", "ERROR RATE", "LAST SEEN (UTC)"]
    assert [split(r) for r in rows if r.startswith(caller)] == [
        [f"{caller} → payment", "200", "10", "5%", "2022-05-01 12:30:00"]
    ]


async def test_health_says_ok_leader_and_redis_reachable(
    analyzer: ServiceProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    """A healthy analyzer exits 0; --json before the command works too."""
    status, out, _ = run(capsys, "--url", analyzer.url, "health")
    assert status == 0
    assert re.search(r"^status +ok$", out, re.M)
    assert re.search(r"^role +leader \(.+\)$", out, re.M)
    assert re.search(r"^redis +ok$", out, re.M)
    _, raw, _ = run(capsys, "--json", "--url", analyzer.url, "health")
    assert json.loads(raw)["service"] == "analyzer"


def test_an_analyzer_that_does_not_answer_exits_1_with_the_make_up_hint(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Nothing listens on the port: one line on stderr, no traceback."""
    url = f"http://127.0.0.1:{free_port()}"
    status, out, err = run(capsys, "--url", url, "incidents")
    assert (status, out) == (1, "")
    assert err.startswith(
        f"aiops: the analyzer does not answer at {url}: start the stack with `make up`"
    )


async def test_an_answer_that_is_not_the_analyzers_exits_1_saying_what_it_could_not_read(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Another service's JSON on --url (its /health has no role): one line, no traceback."""
    async with fake_server(body={"service": "payment", "status": "ok"}) as server:
        status = await asyncio.to_thread(main, ["--url", server.url, "health"])
    out, err = capsys.readouterr()
    assert (status, out) == (1, "")
    assert err.startswith(
        f"aiops: {server.url} answered /health with JSON this aiops does not read "
        "(role: Field required): is --url (or AIOPS_ANALYZER_URL) the analyzer?"
    )


def test_the_url_comes_from_the_environment_unless_given_before_or_after_the_command() -> None:
    """AIOPS_ANALYZER_URL, else the stack's published port."""
    assert build_parser({}).parse_args(["deps"]).url == "http://127.0.0.1:8004"
    env = {"AIOPS_ANALYZER_URL": "http://analyzer:8000"}
    assert build_parser(env).parse_args(["deps"]).url == "http://analyzer:8000"
    assert build_parser(env).parse_args(["--url", "http://a:1", "deps"]).url == "http://a:1"
    assert build_parser(env).parse_args(["deps", "--url", "http://b:2"]).url == "http://b:2"
    assert build_parser(env).parse_args(["--json", "deps"]).json
