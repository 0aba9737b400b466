"""Metric CSVs as `aiops replay --metrics` reads them: any text in, points or counted refusals
out; a header that cannot be mapped is a message naming its columns; what the engine refuses
(a value that is no finite number, a point behind its series) is counted too."""

from __future__ import annotations

import csv
import io
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aiops_cli.client import CliError
from aiops_cli.replay import metrics_run
from aiops_cli.replay.columns import Layout
from aiops_cli.replay.inputs import Source
from aiops_cli.replay.metrics_csv import (
    FIELDS,
    NO_SERIES,
    NO_TIME,
    NO_VALUE,
    REQUIRED,
    MetricRows,
    Refusals,
    read_points,
)
from aiops_cli.replay.metrics_report import build_report
from aiops_cli.replay.metrics_run import run_metrics
from aiops_engine.metrics import MetricConfig

T0 = datetime(2025, 3, 3, tzinfo=UTC)
LAYOUT = Layout.of(["timestamp", "series", "value", "service"], {}, FIELDS, REQUIRED)
# Cells a metric CSV holds, good and bad, and any text at all between them.
CELLS = st.one_of(
    st.sampled_from(["2025-03-03T00:00:00Z", "2025-03-03 01:00", "1741000000", "1741000000123",
                     "cpu", "p99 latency", "1.5", "-3e2", "nan", "inf", "", " ", '"', "1e999"]),
    st.text(max_size=12),
)  # fmt: skip
BODIES = st.lists(st.lists(CELLS, max_size=5).map(",".join), max_size=20).map("\n".join)


def write_csv(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_malformed_rows_are_counted_by_reason_and_the_rest_judged(tmp_path: Path) -> None:
    good = [f"{(T0 + timedelta(minutes=i)).isoformat()},cpu,{40 + i % 3}" for i in range(50)]
    bad = ["yesterday,cpu,1", "1741000000,,2", "2025-03-04T00:00:00Z,cpu,many", "", ",cpu,3",
           "2025-03-04T00:01:00Z,cpu"]  # fmt: skip
    path = write_csv(tmp_path / "m.csv", ["timestamp,series,value", *good[:25], *bad, *good[25:]])
    run = run_metrics(path, MetricConfig())
    assert run.points == run.judged == 50
    assert dict(run.refusals.counts) == {NO_TIME: 2, NO_SERIES: 1, NO_VALUE: 2}
    assert run.refusals.first[NO_TIME] == (
        "line 27: column timestamp: 'yesterday' is not a time (Unix s, ms, µs or ns, or ISO 8601)"
    )
    assert run.refusals.first[NO_VALUE] == "line 29: column value: 'many'"
    report = build_report(run, source=path, faults=None)
    assert report["rejected"] == 5
    assert report["rejections"][0].startswith("2 x timestamp is not a time (first at line 27")


def test_a_value_that_is_not_finite_is_refused_by_the_engine_and_counted(tmp_path: Path) -> None:
    lines = [f"{(T0 + timedelta(minutes=i)).isoformat()},queue,{i % 5}" for i in range(40)]
    lines[10] = lines[10].rsplit(",", 1)[0] + ",nan"
    lines[20] = lines[20].rsplit(",", 1)[0] + ",inf"
    run = run_metrics(
        write_csv(tmp_path / "m.csv", ["timestamp,series,value", *lines]), MetricConfig()
    )
    assert run.points == 40
    assert run.refusals.total == 0
    assert dict(run.refused) == {"not a finite number": 2}
    assert run.judged == 38


def test_a_point_behind_an_earlier_batch_is_refused_and_sort_takes_it_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(metrics_run, "BATCH", 10)
    lines = [f"{(T0 + timedelta(minutes=i)).isoformat()},a,{i}" for i in range(30)]
    lines.append(lines.pop(3))  # minute 3 last: 26 minutes behind, two batches later
    lines[0], lines[1] = lines[1], lines[0]  # within one batch: taken in time order
    path = write_csv(tmp_path / "m.csv", ["timestamp,series,value", *lines])
    run = run_metrics(path, MetricConfig())
    assert dict(run.refused) == {"not newer than the last point judged": 1}
    assert run.judged == 29
    ordered = run_metrics(path, MetricConfig(), sort=True)
    assert (dict(ordered.refused), ordered.judged) == ({}, 30)


def test_a_header_without_a_needed_column_names_the_columns(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "m.csv", ["time,name,value", "1741000000,a,1"])
    with pytest.raises(CliError, match=r"no column for timestamp, series \(columns: time, name"):
        run_metrics(path, MetricConfig())
    with pytest.raises(CliError, match="no column 'When' in the header"):
        run_metrics(path, MetricConfig(), columns="timestamp=When,series=name")
    with pytest.raises(CliError, match="unknown field 'trace_id'"):
        run_metrics(path, MetricConfig(), columns="trace_id=time")


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(BODIES | st.text(max_size=400))
def test_any_body_gives_points_or_counted_refusals_never_an_exception(body: str) -> None:
    refusals = Refusals()
    reader = csv.reader(io.StringIO(body, newline=""))
    points = list(MetricRows(LAYOUT, refusals).points(reader, lambda: reader.line_num))
    records = [r for r in csv.reader(io.StringIO(body, newline="")) if any(c.strip() for c in r)]
    assert len(points) + refusals.total == len(records)
    assert all(p.series and p.at.tzinfo is not None for p in points)


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=200)
@given(st.booleans(), st.text(max_size=300) | st.binary(max_size=300))
def test_any_file_is_read_or_refused_with_a_message(header: bool, content: str | bytes) -> None:
    """Whatever a file holds: points, or a CliError that says why (no header, no column, not
    gzip after all) — never another exception."""
    data = content.encode() if isinstance(content, str) else content
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "m.csv"
        path.write_bytes(b"timestamp,series,value\n" + data if header else data)
        source, refusals = Source(path), Refusals()
        try:
            points = list(read_points(source, None, refusals))
        except CliError as exc:
            points, message = [], str(exc)
        else:
            message = "read"
        finally:
            source.close()
    assert message
    assert all(p.series and p.at.tzinfo is not None for p in points)
