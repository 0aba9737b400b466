"""`aiops replay` end to end on recordings made here: the report, the scorecard, bad input."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from aiops_cli.cli import main
from tests.support.recording import (
    ShopFault,
    shop_spans,
    write_otlp_lines,
    write_span_csv,
    write_truth,
)

# Four minutes of steady traffic for the baselines, a minute of slow payment, two quiet ones.
PAYMENT_SLOW = ShopFault("payment", 240, 300, extra_ms=300)
SECONDS, RATE = 420, 10
JAEGER_MAP = (
    "trace_id=TraceID,span_id=SpanID,parent_span_id=ParentID,service=ServiceName,"
    "endpoint=OperationName,start=StartTimeUs,duration=DurationUs,status=StatusCode"
)


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("recording")
    spans = shop_spans(seconds=SECONDS, rate=RATE, faults=(PAYMENT_SLOW,))
    write_otlp_lines(folder / "shop.jsonl.gz", spans)
    write_truth(folder / "truth.json", (PAYMENT_SLOW,))
    return folder


def replay(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any], str]:
    status = main(["replay", "--json", *args])
    out, err = capsys.readouterr()
    return status, json.loads(out) if status == 0 else {}, err


def test_a_slow_payment_is_detected_and_named_with_the_scorecards_figures(
    recording: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    report_path = tmp_path / "out" / "report.json"
    status, report, _ = replay(
        capsys,
        str(recording / "shop.jsonl.gz"),
        "--truth",
        str(recording / "truth.json"),
        "--report",
        str(report_path),
    )
    assert status == 0
    assert report["spans"] > 20_000
    assert report["rejected"] == 0
    assert report["late_spans"] == 0
    assert report["duration_s"] == pytest.approx(SECONDS, abs=1)
    assert report["wall_s"] > 0
    assert {a["service"] for a in report["anomalies"]} >= {"payment"}
    [incident] = report["incidents"]
    assert incident["root_cause"] == {"service": "payment", "endpoint": "/payment"}
    assert incident["candidates"][0]["service"] == "payment"
    assert {"id", "opened_at", "candidates"} <= incident.keys()
    card = report["scorecard"]
    assert card["faults"] == 1
    assert card["detected"] == 1
    assert (card["ac_at_1"], card["ac_at_3"], card["avg_at_5"]) == (1.0, 1.0, 1.0)
    # The first window wholly inside the fault ends 5 s in; its verdict comes 3 s later.
    assert card["ttd_median_s"] == pytest.approx(8.0)
    assert card["false_incidents"] == 0
    assert card["false_incidents_per_hour"] == 0.0
    assert json.loads(report_path.read_text()) == report
    markdown = report_path.with_suffix(".md").read_text()
    assert "| 1 | 1 | 1.00 | 1.00 | 1.00 | 8.0 s | 0 | 0.00 |" in markdown
    assert report_path.with_suffix(".png").read_bytes().startswith(b"\x89PNG")


def test_plain_and_gzip_recordings_give_the_same_verdicts(
    recording: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    plain = tmp_path / "shop.jsonl"
    plain.write_bytes(gzip.decompress((recording / "shop.jsonl.gz").read_bytes()))
    _, zipped, _ = replay(capsys, str(recording / "shop.jsonl.gz"))
    _, unzipped, _ = replay(capsys, str(plain))
    assert unzipped["incidents"] == zipped["incidents"]
    assert unzipped["anomalies"] == zipped["anomalies"]


def test_a_jaeger_style_csv_with_a_column_map_finds_the_same_cause(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """No kind column: kinds and callees are inferred from parents and children."""
    path = tmp_path / "spans.csv"
    write_span_csv(path, shop_spans(seconds=SECONDS, rate=RATE, faults=(PAYMENT_SLOW,)))
    write_truth(tmp_path / "truth.json", (PAYMENT_SLOW,))
    status, report, _ = replay(
        capsys, str(path), "--columns", JAEGER_MAP, "--truth", str(tmp_path / "truth.json")
    )
    assert status == 0
    assert [i["root_cause"]["service"] for i in report["incidents"]] == ["payment"]
    assert report["scorecard"]["ac_at_1"] == 1.0
    edges = {(a["service"], a["target"]) for a in report["anomalies"] if a["kind"] == "edge"}
    assert ("checkout", "payment") in edges  # the inferred client spans name their callee


def test_settings_change_the_verdict_like_the_analyzers_do(
    recording: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A latency multiplier above the fault's 16x finds nothing."""
    status, report, _ = replay(
        capsys, str(recording / "shop.jsonl.gz"), "--latency-multiplier", "40"
    )
    assert status == 0
    assert not [a for a in report["anomalies"] if a["type"] == "latency"]
    assert report["settings"]["detection"]["latency_multiplier"] == 40


def test_bad_lines_are_counted_with_their_line_numbers_and_the_rest_replayed(
    recording: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    lines = gzip.decompress((recording / "shop.jsonl.gz").read_bytes()).splitlines()
    path = tmp_path / "damaged.jsonl"
    path.write_bytes(b"\n".join([lines[0], b"{not json", b"[1, 2]", *lines[1:], b""]))
    status, report, _ = replay(capsys, str(path))
    assert status == 0
    assert report["rejected_lines"] == 2
    assert report["rejections"][0].startswith("line 2: not JSON")
    assert report["rejections"][1].startswith("line 3: not a JSON object")


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        (b"garbage\n", (), "no spans in"),
        (b"a,b\n1,2\n", ("--format", "csv"), "no column for trace_id"),
        (b"TraceID\nx\n", ("--format", "csv", "--columns", "trace_id=Nope"), "no column 'Nope'"),
        (b"", ("--columns", "colour=red", "--format", "csv"), "unknown field 'colour'"),
        (b"\x1f\x8b\x08\x00broken", (), "unreadable"),
        (b"x", ("--min-windows", "0"), "invalid detection config: min_windows"),
    ],
)
def test_bad_input_is_one_clear_line_and_exit_status_1(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    content: bytes,
    args: tuple[str, ...],
    message: str,
) -> None:
    path = tmp_path / "input"
    path.write_bytes(content)
    status, _, err = replay(capsys, str(path), *args)
    assert status == 1
    assert err.startswith("aiops: ")
    assert message in err
    assert "Traceback" not in err


def test_unparseable_csv_times_are_rejected_naming_line_and_column(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "spans.csv"
    path.write_text(
        "trace_id,span_id,service,start,duration\n"
        "t1,s1,api,2025-03-01T12:00:00Z,5\n"
        "t1,s2,api,yesterday,5\n"
        "t1,s3,api,1740830400000,-1\n",
        encoding="utf-8",
    )
    status, report, _ = replay(capsys, str(path))
    assert status == 0
    assert report["spans"] == 1
    assert report["rejected"] == 2
    assert report["rejections"] == [
        "line 3: column start: 'yesterday' is not a time (Unix s, ms, µs or ns, or ISO 8601)",
        "line 4: the span ends before it starts (or its duration is not a number)",
    ]


@pytest.mark.parametrize(
    ("truth", "message"),
    [
        ("{}", "expected a JSON list"),
        ('[{"start": 0, "end": 1}]', "'service' must be a non-empty string"),
        ('[{"start": "soon", "end": 1, "service": "a"}]', "'start' must be ISO 8601"),
        ('[{"start": 5, "end": 1, "service": "a"}]', "'end' is before 'start'"),
    ],
)
def test_a_bad_truth_file_is_refused_with_the_fault_it_is_about(
    recording: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path, truth: str, message: str
) -> None:
    (tmp_path / "truth.json").write_text(truth, encoding="utf-8")
    status, _, err = replay(
        capsys, str(recording / "shop.jsonl.gz"), "--truth", str(tmp_path / "truth.json")
    )
    assert status == 1
    assert message in err
