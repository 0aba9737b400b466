"""`aiops simulate OUT_DIR --metrics`: labelled metric streams as CSV, and their truth."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from aiops_cli.cli import main
from aiops_simulate import STREAM_FAMILIES, make_stream

ARGS = ("--metrics", "--stream", "dip", "--stream", "level_shift", "--seed", "5", "--days", "3")


def simulate(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any], str]:
    status = main(["simulate", "--json", *args])
    out, err = capsys.readouterr()
    return status, json.loads(out) if status == 0 else {}, err


def test_the_csv_and_the_truth_parse_back_into_the_streams_drawn(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status, written, _ = simulate(capsys, str(tmp_path), *ARGS)
    assert status == 0
    assert written["metrics_file"] == str(tmp_path / "metrics.csv")
    with (tmp_path / "metrics.csv").open(newline="") as f:
        reader = csv.reader(f)
        assert next(reader) == ["timestamp", "series", "value"]
        series: dict[str, list[tuple[datetime, float]]] = defaultdict(list)
        for timestamp, name, value in reader:
            at = datetime.fromisoformat(timestamp)
            assert at.utcoffset() == timedelta(0)
            series[name].append((at, float(value)))
    assert list(series) == ["dip-5", "level_shift-5"]
    assert written["points"] == sum(len(points) for points in series.values())
    for name, family in (("dip-5", "dip"), ("level_shift-5", "level_shift")):
        drawn = make_stream(family, 5, step_s=60, days=3, name=name)
        assert [v for _, v in series[name]] == list(drawn.values)  # exact: repr round-trips
        assert series[name][0][0] == drawn.start
        assert series[name][1][0] - series[name][0][0] == timedelta(seconds=60)
    truth = json.loads((tmp_path / "truth.json").read_text())
    assert truth == written["faults"]
    assert {f["kind"] for f in truth} == {"dip", "level_shift"}
    for fault in truth:
        assert set(fault) == {"series", "start", "end", "kind"}
        start, end = datetime.fromisoformat(fault["start"]), datetime.fromisoformat(fault["end"])
        assert start.tzinfo is not None
        assert start.astimezone(UTC) < end
        times = [at for at, _ in series[fault["series"]]]
        assert times[0] + timedelta(days=2) <= start
        assert end <= times[-1]


def test_the_same_seed_writes_the_same_files(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    for out in ("a", "b"):
        assert simulate(capsys, str(tmp_path / out), *ARGS)[0] == 0
    for name in ("metrics.csv", "truth.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_without_stream_every_family_is_written_and_the_summary_says_so(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status = main(["simulate", str(tmp_path), "--metrics", "--days", "3", "--step-s", "300"])
    out = capsys.readouterr().out
    assert status == 0
    assert f"of {len(STREAM_FAMILIES)} metric streams" in out
    assert "300 s apart" in out
    with (tmp_path / "metrics.csv").open(newline="") as f:
        names = {row["series"] for row in csv.DictReader(f)}
    assert names == {f"{family}-1" for family in STREAM_FAMILIES}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--metrics", "--stream", "nope"), "no stream family nope"),
        (("--metrics", "--kind", "latency"), "without --kind/--hours"),
        (("--metrics", "--days", "1"), "more than 2.5 days"),
        (("--metrics", "--step-s", "0"), "--step-s must be a positive"),
    ],
)
def test_what_cannot_be_drawn_is_one_line_on_stderr(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    status, _, err = simulate(capsys, str(tmp_path), *args)
    assert status == 1
    assert message in err
    assert not (tmp_path / "metrics.csv").exists()
