"""`aiops replay --metrics`: `aiops simulate --metrics` output replayed from the command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from aiops_cli.cli import main

SIMULATE = ("--metrics", "--stream", "level_shift", "--stream", "dip", "--seed", "3",
            "--days", "3.5", "--step-s", "300")  # fmt: skip


def aiops(*argv: str) -> subprocess.CompletedProcess[str]:
    """`aiops ARGV...` as its own process, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "aiops_cli", *argv],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """The streams on disk, and what `aiops simulate --json` said of them."""
    folder = tmp_path_factory.mktemp("simulated")
    done = aiops("simulate", str(folder), *SIMULATE, "--json")
    assert done.returncode == 0, done.stderr
    return folder, json.loads(done.stdout)


def directions(written: dict[str, Any]) -> list[str]:
    return [f"--direction={s['series']}={s['direction']}" for s in written["streams"]]


def test_a_simulated_recording_replayed_with_its_truth_writes_the_scorecard(
    simulated: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    folder, written = simulated
    report_path = tmp_path / "out" / "metrics.json"
    done = aiops(
        "replay", "--metrics", str(folder / "metrics.csv"), "--truth", str(folder / "truth.json"),
        "--report", str(report_path), *directions(written),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    faults = len(written["faults"])
    assert f"scorecard: {faults}/{faults} windows detected" in done.stdout
    assert f"report: {report_path} (+ .md)" in done.stdout
    report = json.loads(report_path.read_text())
    assert report["points"] == written["points"]
    assert report["settings"]["new_normal_after_s"] == 7200.0
    card = report["scorecard"]
    assert (card["windows"], card["detected"], card["recall"]) == (faults, faults, 1.0)
    for series in card["per_series"]:
        assert [w["kind"] for w in series["per_window"]] == [
            f["kind"] for f in written["faults"] if f["series"] == series["series"]
        ]
    markdown = report_path.with_suffix(".md").read_text()
    assert "## Scorecard" in markdown
    assert f"| all | {faults} | {faults} |" in markdown


def test_the_json_report_says_the_directions_and_settings_used(
    simulated: tuple[Path, dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    folder, written = simulated
    argv = ["replay", str(folder / "metrics.csv"), "--metrics", "--json", "--p-value", "1e-9",
            "--new-normal-after", "90m", "--direction", "dip-3=down"]  # fmt: skip
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert "scorecard" not in report
    assert (report["settings"]["p_value"], report["settings"]["new_normal_after_s"]) == (
        1e-9, 5400.0,
    )  # fmt: skip
    assert {s["series"]: s["direction"] for s in report["series"]} == {
        "dip-3": "down", "level_shift-3": "both",  # the default for a name that says nothing
    }  # fmt: skip
    assert report["alarms"]
    assert report["points"] == written["points"]


def test_without_truth_the_summary_lists_the_alarms_and_new_normals(
    simulated: tuple[Path, dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    folder, _ = simulated
    assert main(["replay", "--metrics", str(folder / "metrics.csv")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("replayed ")
    assert "  2025-03-0" in out  # an alarm's first time
    assert "new normal " in out
    assert "scorecard" not in out


@pytest.mark.parametrize(
    ("extra", "status", "message"),
    [
        (["--window", "10"], 1, "replay --metrics: --window applies to spans only"),
        (["--min-windows", "3"], 1, "replay --metrics: --min-windows applies to spans only"),
        (["--direction", "dip-3"], 1, "--direction: 'dip-3' is not SERIES=up|down|both"),
        (["--direction", "dip-3=sideways"], 1, "is not SERIES=up|down|both"),
        (["--p-value", "2"], 1, "settings: invalid metric config: p_value"),
        (["--new-normal-after", "0s"], 1, "settings: invalid metric config: new_normal_after"),
        (["--new-normal-after", "soon"], 2, "'soon' is not a duration (90s, 30m, 2h)"),
        (["--columns", "series=Nope"], 1, "no column 'Nope' in the header"),
    ],
)
def test_a_bad_option_is_one_line_and_its_exit_status(
    simulated: tuple[Path, dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    status: int,
    message: str,
) -> None:
    """1 for what the command refuses, 2 for what argparse refuses (bad usage)."""
    folder, _ = simulated
    try:
        got = main(["replay", "--metrics", str(folder / "metrics.csv"), *extra])
    except SystemExit as exc:
        got = int(str(exc.code))
    assert got == status
    assert message in capsys.readouterr().err


def test_metric_options_without_metrics_are_refused(
    simulated: tuple[Path, dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    folder, _ = simulated
    assert main(["replay", str(folder / "metrics.csv"), "--p-value", "1e-9"]) == 1
    assert "replay: --p-value applies to --metrics only" in capsys.readouterr().err


def test_a_file_without_points_says_why(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "m.csv"
    path.write_text("timestamp,series,value\nnever,a,1\n")
    assert main(["replay", "--metrics", str(path)]) == 1
    err = capsys.readouterr().err
    assert "no metric points in" in err
    assert "1 x timestamp is not a time (first at line 2" in err
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert main(["replay", "--metrics", str(empty)]) == 1
    assert "empty CSV (no header line)" in capsys.readouterr().err


def test_a_bad_truth_file_is_named(
    simulated: tuple[Path, dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder, _ = simulated
    truth = tmp_path / "truth.json"
    truth.write_text(json.dumps([{"service": "payment", "start": 0, "end": 1}]))
    argv = ["replay", "--metrics", str(folder / "metrics.csv"), "--truth", str(truth)]
    assert main(argv) == 1
    assert f"truth file {truth}, fault 0: 'series' must be a non-empty string" in (
        capsys.readouterr().err
    )
