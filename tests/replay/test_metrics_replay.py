"""`aiops replay --metrics` underneath: reading metric CSVs, the engine's verdicts, the scorecard.

The streams are `aiops simulate --metrics`'s (the benchmark's families), short ones at
5-minute steps; the scorecard is checked against the benchmark's way of scoring (every
point's verdict from `judge`, through `score_stream`), so the replay scores what the
benchmark would on the same stream.
"""

from __future__ import annotations

import csv
import gzip
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aiops_cli.client import CliError
from aiops_cli.replay.metrics_report import build_report
from aiops_cli.replay.metrics_run import MetricsRun, run_metrics
from aiops_cli.replay.metrics_score import (
    AlarmSpan,
    MetricFault,
    load_metric_truth,
    score_series,
    verdicts,
)
from aiops_cli.simulate_metrics import write_streams
from aiops_engine.metrics import (
    Direction,
    MetricConfig,
    MetricState,
    Tally,
    Window,
    judge,
    score_stream,
)
from aiops_engine.metrics.scorecard import runs
from aiops_simulate import Stream, make_stream

STEP_S, DAYS, SEED = 300, 3.5, 3
T0 = datetime(2025, 3, 3, tzinfo=UTC)
FAMILIES = ("level_shift", "dip")


@pytest.fixture(scope="module")
def streams() -> list[Stream]:
    return [make_stream(f, SEED, step_s=STEP_S, days=DAYS, name=f"{f}-{SEED}") for f in FAMILIES]


@pytest.fixture(scope="module")
def recording(streams: list[Stream], tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("metrics")
    write_streams(streams, folder)
    return folder


def directions(streams: list[Stream]) -> dict[str, Direction]:
    return {s.name: Direction(s.direction) for s in streams}


def replayed(
    path: Path, streams: list[Stream], *, columns: str | None = None, sort: bool = False
) -> MetricsRun:
    """The replay with each stream's own direction, as the benchmark tells its detectors."""
    return run_metrics(
        path, MetricConfig(), columns=columns, directions=directions(streams), sort=sort
    )


def bench_tally(stream: Stream) -> Tally:
    """The benchmark's way: every point judged by `judge`, every verdict to `score_stream`."""
    state: MetricState | None = None
    flags = []
    config, direction = MetricConfig(), Direction(stream.direction)
    for at, value in stream.points():
        state, verdict = judge(state, stream.name, at, value, config, direction)
        flags.append(verdict.anomalous)
    times = [i * float(STEP_S) for i in range(len(stream))]
    windows = [Window(stream.offset(x.start), stream.offset(x.end), x.kind) for x in stream.labels]
    return Tally.of(score_stream(times, flags, windows))


def test_simulated_streams_replayed_with_their_truth_detect_the_labelled_faults(
    recording: Path, streams: list[Stream]
) -> None:
    run = replayed(recording / "metrics.csv", streams)
    faults = load_metric_truth(recording / "truth.json")
    report = build_report(run, source=recording / "metrics.csv", faults=faults)
    assert report["points"] == report["judged"] == sum(len(s) for s in streams)
    assert (report["rejected"], report["refused"], report["skipped"]) == (0, {}, {})
    card = report["scorecard"]
    assert card["windows"] == len(faults) == sum(len(s.labels) for s in streams) >= 2
    assert card["detected"] == card["windows"], card
    assert card["recall"] == 1.0
    assert card["score"] is not None
    assert card["score"] > 50
    for series in card["per_series"]:
        for window in series["per_window"]:
            detected_at, delay_s = window["detected_at"], window["delay_s"]
            assert detected_at is not None
            assert delay_s is not None
            start = datetime.fromisoformat(window["start"])
            assert datetime.fromisoformat(detected_at) == start + timedelta(seconds=delay_s)
            assert (
                start
                <= datetime.fromisoformat(detected_at)
                <= datetime.fromisoformat(window["end"])
            )
    # The very score the benchmark gives these streams, series by series and overall.
    by_name = {s["series"]: s for s in card["per_series"]}
    overall = Tally()
    for stream in streams:
        expected = bench_tally(stream)
        overall += expected
        got = by_name[stream.name]
        assert (got["windows"], got["detected"], got["alarms"], got["false_alarms"]) == (
            expected.windows, expected.detected, expected.onsets, expected.false_alarms,
        )  # fmt: skip
        assert got["earned"] == pytest.approx(expected.earned, abs=1e-4)
    assert card["score"] == pytest.approx(overall.normalised, abs=0.01)
    assert {a["series"] for a in report["alarms"]} == {s.name for s in streams}


def test_without_truth_the_alarms_and_new_normals_are_reported(
    recording: Path, streams: list[Stream]
) -> None:
    report = build_report(
        replayed(recording / "metrics.csv", streams), source=recording, faults=None
    )
    assert "scorecard" not in report
    assert report["alarms"]
    for alarm in report["alarms"]:
        assert alarm["started_at"] <= alarm["ended_at"]
        assert 0 < alarm["score"] <= 1
        assert alarm["series"] in alarm["explanation"]
    shift = next(s for s in streams if s.family == "level_shift")
    adopted = [n for n in report["new_normals"] if n["series"] == shift.name]
    assert adopted, "a level that held is adopted as the new normal"
    assert all(n["since"] < n["at"] for n in adopted)
    assert {s["series"]: s["direction"] for s in report["series"]} == {
        s.name: s.direction for s in streams
    }


def test_a_mapped_gzip_file_in_time_order_with_epoch_ms_gives_the_same_alarms(
    recording: Path, streams: list[Stream], tmp_path: Path
) -> None:
    """Other column names, a service column, Unix ms, series interleaved, gzip: same verdicts."""
    rows = sorted(
        ((at, s.name, value) for s in streams for at, value in s.points()), key=lambda r: r[0]
    )
    path = tmp_path / "export.bin"  # gzip is told by its bytes, not its name
    with gzip.open(path, "wt", newline="") as f:
        out = csv.writer(f)
        out.writerow(["Val", "Svc", "Name", "Time"])
        for at, name, value in rows:
            out.writerow([repr(value), "shop", name, int(at.timestamp() * 1000)])
    columns = "timestamp=Time,series=Name,value=Val,service=Svc"
    mapped = build_report(replayed(path, streams, columns=columns), source=path, faults=None)
    plain = build_report(replayed(recording / "metrics.csv", streams), source=path, faults=None)
    assert mapped["points"] == plain["points"]
    assert mapped["alarms"] == [{**a, "service": "shop"} for a in plain["alarms"]]
    assert mapped["new_normals"] == plain["new_normals"]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"start": 0, "end": 1}, "'series' must be a non-empty string"),
        ({"series": "a", "start": "soon", "end": 1}, "'start' must be ISO 8601 or Unix seconds"),
        ({"series": "a", "start": 10, "end": 1}, "'end' is before 'start'"),
        ({"series": "a", "start": 0, "end": 1, "kind": 3}, "'kind' must be a string"),
        ("dip", "not a JSON object"),
    ],
)
def test_a_bad_truth_entry_is_named(entry: object, message: str, tmp_path: Path) -> None:
    path = tmp_path / "truth.json"
    path.write_text(json.dumps([entry]))
    with pytest.raises(CliError, match=rf"fault 0: {message}"):
        load_metric_truth(path)


def test_a_fault_on_a_series_not_recorded_is_a_missed_window(
    recording: Path, streams: list[Stream]
) -> None:
    fault = MetricFault("nowhere", T0 + timedelta(days=1), T0 + timedelta(days=2))
    run = replayed(recording / "metrics.csv", streams)
    report = build_report(run, source=recording, faults=[fault])
    [missing] = [s for s in report["scorecard"]["per_series"] if s["series"] == "nowhere"]
    assert (missing["recorded"], missing["detected"], missing["earned"]) == (False, 0, -1.0)
    assert "truth: no point of series nowhere in the file (its windows missed)" in report["notes"]


# -- the compact verdicts score as every point's would ------------------------------------------


@given(
    st.lists(st.booleans(), min_size=1, max_size=300),
    st.lists(st.tuples(st.integers(0, 299), st.integers(0, 60)), max_size=4),
)
def test_alarm_runs_score_exactly_as_every_points_verdict(
    flags: list[bool], spans: list[tuple[int, int]]
) -> None:
    times = [i * 60.0 for i in range(len(flags))]
    windows = [Window(a * 60.0, (a + n) * 60.0) for a, n in spans]
    faults = [MetricFault("s", T0 + timedelta(seconds=w.start), T0 + timedelta(seconds=w.end))
              for w in windows]  # fmt: skip
    alarms = [
        AlarmSpan(T0 + timedelta(seconds=times[a]), T0 + timedelta(seconds=times[b]))
        for a, b in runs(flags)
    ]
    full = score_stream(times, flags, windows)
    compact = score_series("s", T0, alarms, faults).score
    assert compact.onsets == full.onsets
    assert compact.true_onsets == full.true_onsets
    assert compact.windows == full.windows
    assert len(verdicts(alarms, T0)[0]) <= 3 * len(alarms)
