"""`aiops export`: telemetry rows → OTLP JSON lines → `rows_from_otlp_json` → the same rows.

Rows are written to the session's PostgreSQL in a time range of their own (far
in the past, so no other test's rows fall in it) and exported with the real
query, cursor and file writer.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import math
import random
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from aiops_cli import main
from aiops_cli.client import CliError
from aiops_cli.export import Exported, database_url, export, parse_time
from aiops_telemetry import COLUMNS, SpanRow, span_row
from aiops_telemetry.otlp import rows_from_otlp_json
from tests.support.processes import free_port

TRACE = "5ce0e9a56015fec5aadfa328ae398115"  # not test_trace_across_hops's W3C example
ATTRIBUTES = {
    "http.user_agent": "curl/8.0",
    "retries": 3,
    "ratio": 0.25,
    "cached": True,
    "tags": ["a", "b"],
    "nested": {"k": 1, "deeper": ["x"]},
    "nothing": None,
}


def base_time() -> datetime:
    """A start in 2001 no other test writes near, with microseconds."""
    return datetime(2001, 1, 1, tzinfo=UTC) + timedelta(
        seconds=random.randrange(10**7), microseconds=random.randrange(10**6)
    )


def recorded(t0: datetime) -> list[SpanRow]:
    """One of each kind of row the stack stores, in time order."""

    def at(ms: float) -> datetime:
        return t0 + timedelta(milliseconds=ms)

    common: dict[str, Any] = {"trace_id": TRACE, "error_kind": None, "error_message": None}
    return [
        span_row(timestamp=at(0), service_name="checkout", endpoint="/checkout", method="POST",
                 status_code=200, latency_ms=33.612345678, span_id="5b0c7e3f9d2a1c44",
                 parent_span_id=None, kind="server", peer_service=None,
                 attributes=json.dumps(ATTRIBUTES), **common),
        span_row(timestamp=at(1), service_name="checkout", endpoint="/payment", method="POST",
                 status_code=503, latency_ms=12.9, span_id="8e1d2f3a4b5c6d7e",
                 parent_span_id="5b0c7e3f9d2a1c44", kind="client", peer_service="payment",
                 **common),
        span_row(timestamp=at(2), service_name="payment", endpoint="/payment", method="POST",
                 status_code=500, latency_ms=10.77, span_id="0a9b8c7d6e5f4a3b",
                 parent_span_id="8e1d2f3a4b5c6d7e", kind="server", peer_service=None,
                 trace_id=TRACE, error_kind="exception",
                 error_message="RuntimeError: card declined\nTraceback (most recent call last):\n"
                 '  File "payment.py", line 1'),
        span_row(timestamp=at(3), service_name="payment", endpoint="GET /payment http send",
                 method="", status_code=500, latency_ms=0.05, span_id="1a9b8c7d6e5f4a3b",
                 parent_span_id="0a9b8c7d6e5f4a3b", kind="internal", peer_service=None,
                 attributes='{"asgi.event.type": "http.response.start"}', **common),
        span_row(timestamp=at(4), service_name="inventory", endpoint="UPDATE inventory_stock",
                 method="SQL", status_code=None, latency_ms=0.81, span_id="3a2b1c0d9e8f7a6b",
                 parent_span_id="7c6b5a4938271605", kind="client", peer_service="postgres",
                 **common),
        span_row(timestamp=at(5), service_name="inventory", endpoint="/inventory/reserve",
                 method="POST", status_code=None, latency_ms=3000.0, span_id="7c6b5a4938271605",
                 parent_span_id=None, kind="server", peer_service=None, trace_id=TRACE,
                 error_kind="error_status", error_message="deadline exceeded"),
    ]  # fmt: skip


async def write(conn: asyncpg.Connection, rows: Sequence[SpanRow]) -> None:
    await conn.copy_records_to_table("telemetry", records=rows, columns=COLUMNS)


@pytest.fixture
def t0() -> datetime:
    return base_time()


@pytest.fixture
async def stored(db: asyncpg.Connection, t0: datetime) -> list[SpanRow]:
    """`recorded(t0)`, written to the table."""
    rows = recorded(t0)
    await write(db, rows)
    return rows


async def export_second(database_url: str, path: Path, t0: datetime, **options: Any) -> Exported:
    """`export` of the second from `t0`, where a test's rows are."""
    until = t0 + timedelta(seconds=1)
    return await export(database_url, str(path), since=t0, until=until, **options)


def read_back(path: Path) -> tuple[list[SpanRow], int]:
    """The rows of every line of `path` (gzip or plain), and how many lines it had."""
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as lines:
        requests = [json.loads(line) for line in lines]
    rows: list[SpanRow] = []
    for request in requests:
        spans = rows_from_otlp_json(request)
        assert (spans.rejected, spans.errors) == (0, []), spans
        rows.extend(spans.rows)
    return rows, len(requests)


def assert_same_rows(got: Sequence[SpanRow], expected: Sequence[SpanRow]) -> None:
    """Field by field: ids and text exact, times to the µs, latency to the ns, attributes
    as JSON values (jsonb keeps no key order)."""
    got_by_id = {row[COLUMNS.index("span_id")]: row for row in got}
    assert len(got_by_id) == len(got) == len(expected)
    for want in expected:
        row = got_by_id[want[COLUMNS.index("span_id")]]
        for name, value, expected_value in zip(COLUMNS, row, want, strict=True):
            if name == "latency_ms":
                assert isinstance(value, float)
                assert isinstance(expected_value, float)
                assert math.isclose(value, expected_value, abs_tol=1e-6), (name, want)
            elif name == "attributes":
                assert value is None or isinstance(value, str)
                assert expected_value is None or isinstance(expected_value, str)
                loaded = json.loads(value) if value else None
                assert loaded == (json.loads(expected_value) if expected_value else None)
            else:
                assert value == expected_value, (name, value, want)


async def test_exported_rows_read_back_as_the_same_rows(
    stored: list[SpanRow], t0: datetime, database_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "spans.jsonl"
    done = await export_second(database_url, path, t0)
    assert (done.spans, done.lines) == (len(stored), 1)
    got, _ = read_back(path)
    assert_same_rows(got, stored)
    # One resourceSpans per service, named by service.name.
    [request] = [json.loads(line) for line in path.read_text().splitlines()]
    resources = [r["resource"]["attributes"] for r in request["resourceSpans"]]
    services = [attributes[0]["value"]["stringValue"] for attributes in resources]
    assert services == ["checkout", "payment", "inventory"]


async def test_a_timeout_keeps_its_error_kind(
    db: asyncpg.Connection, t0: datetime, database_url: str, tmp_path: Path
) -> None:
    timeout = span_row(
        timestamp=t0, service_name="checkout", endpoint="/payment", method="POST",
        status_code=None, latency_ms=2000.0, error_message="ReadTimeout: no answer in 2 s",
        trace_id=TRACE, span_id="9e1d2f3a4b5c6d7e", parent_span_id=None, kind="client",
        peer_service="payment", error_kind="timeout",
    )  # fmt: skip
    await write(db, [timeout])
    path = tmp_path / "timeout.jsonl"
    await export_second(database_url, path, t0)
    got, _ = read_back(path)
    assert_same_rows(got, [timeout])


async def test_batches_make_lines_and_gzip_follows_the_name(
    stored: list[SpanRow], t0: datetime, database_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "spans.jsonl.gz"
    done = await export_second(database_url, path, t0, batch=4)
    assert (done.spans, done.lines) == (6, 2)
    got, lines = read_back(path)
    assert lines == 2
    assert_same_rows(got, stored)
    assert [p.name for p in tmp_path.iterdir()] == [path.name], "no partial file left behind"  # noqa: ASYNC240


async def test_service_and_time_filters_pick_the_rows(
    stored: list[SpanRow], t0: datetime, database_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "payment.jsonl"
    await export_second(database_url, path, t0, services=["payment"])
    got, _ = read_back(path)
    assert_same_rows(got, [r for r in stored if r[1] == "payment"])
    # [since, until): the row at `until` itself is left out.
    await export(database_url, str(path), since=t0, until=t0 + timedelta(milliseconds=4))
    got, _ = read_back(path)
    assert_same_rows(got, stored[:4])


@pytest.mark.usefixtures("stored")
async def test_the_command_writes_the_file_and_says_what_it_wrote(
    t0: datetime, database_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "cli.jsonl.gz"
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "aiops_cli", "export", str(path), "--database-url", database_url,
        "--since", t0.isoformat(), "--until", (t0 + timedelta(seconds=1)).isoformat(),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    assert f"exported 6 spans in 1 lines to {path}" in out.decode()
    assert len(read_back(path)[0]) == 6


def test_an_unreachable_database_is_one_line_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"postgresql://aiops:x@127.0.0.1:{free_port()}/aiops"
    status = main(["export", str(tmp_path / "out.jsonl"), "--database-url", url])
    err = capsys.readouterr().err
    assert status == 1
    assert err.startswith("aiops: cannot connect to PostgreSQL"), err
    assert not list(tmp_path.iterdir()), "no file, not even a partial one"


def test_since_and_until_take_durations_or_iso_times() -> None:
    now = datetime(2026, 1, 2, 12, 0, tzinfo=UTC)
    assert parse_time("30m", now) == now - timedelta(minutes=30)
    assert parse_time("1h30m", now) == now - timedelta(minutes=90)
    assert parse_time("90s", now) == now - timedelta(seconds=90)
    assert parse_time("2d", now) == now - timedelta(days=2)
    assert parse_time("2026-01-02T10:00:00", now) == datetime(2026, 1, 2, 10, tzinfo=UTC)
    assert parse_time("2026-01-02T10:00:00+02:00", now) == datetime(2026, 1, 2, 8, tzinfo=UTC)
    with pytest.raises(CliError, match="neither a duration"):
        parse_time("yesterday", now)


def test_the_database_is_the_flag_else_the_environment_else_the_stack() -> None:
    assert database_url("postgresql://a@h/d", {"AIOPS_DATABASE_URL": "x"}) == "postgresql://a@h/d"
    assert database_url(None, {"AIOPS_DATABASE_URL": "postgresql://b@h/d"}) == "postgresql://b@h/d"
    # The stack's settings, as `make chaos` finds them (a password from the environment
    # here; from the running stack's secrets volume when none is set).
    stack = database_url(None, {"POSTGRES_PASSWORD": "pw", "POSTGRES_PORT": "6543"})
    assert stack == "postgresql://aiops:pw@127.0.0.1:6543/aiops"
