"""The committed corpus is what the detection benchmark promises, and a run reports on it."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from aiops_simulate import STREAM_FAMILIES
from aiops_simulate.streams import HISTORY_S, LATE_S
from bench.detect import cli
from bench.detect.corpus import CORPUS, CorpusError, Entry, Selection, load, select
from bench.detect.make_corpus import render


@pytest.fixture(name="corpus", scope="module")
def _corpus() -> list[Entry]:
    return load()


def test_there_are_60_streams_every_family_at_both_resolutions(corpus: list[Entry]) -> None:
    assert len(corpus) >= 60
    families = Counter(e.family for e in corpus)
    assert set(families) == set(STREAM_FAMILIES)
    assert min(families.values()) >= 5
    for family in STREAM_FAMILIES:
        steps = {e.step_s for e in corpus if e.family == family}
        assert steps == {60, 300}, family
    assert all(3 <= e.days <= 7 for e in corpus if e.step_s == 60)
    assert all(7 <= e.days <= 21 for e in corpus if e.step_s == 300)


def test_seeds_are_unique_and_holdout_is_about_a_third_of_every_family(
    corpus: list[Entry],
) -> None:
    seeds = [e.seed for e in corpus]
    assert len(set(seeds)) == len(seeds)
    tune = {e.seed for e in corpus if e.split == "tune"}
    holdout = {e.seed for e in corpus if e.split == "holdout"}
    assert tune.isdisjoint(holdout)
    assert 0.25 <= len(holdout) / len(corpus) <= 0.4
    for family in STREAM_FAMILIES:
        assert {e.split for e in corpus if e.family == family} == {"tune", "holdout"}


def test_the_checks_have_streams_to_judge(corpus: list[Entry]) -> None:
    """Quiet streams longer than a week (b), level shifts (a), late faults for seasons."""
    assert sum(e.family in ("daily", "weekly") and e.days > 7 for e in corpus) >= 6
    assert sum(e.family == "level_shift" for e in corpus) >= 5
    late = [e for e in corpus if e.late]
    assert len(late) >= 10
    stream = late[0].stream()
    assert all(stream.offset(label.start) >= LATE_S for label in stream.labels)


def test_every_stream_draws_with_its_faults_after_two_days(corpus: list[Entry]) -> None:
    for entry in corpus:
        stream = entry.stream()
        assert stream.name == entry.id
        assert all(stream.offset(label.start) >= HISTORY_S for label in stream.labels)


def test_the_file_is_what_its_script_lays_out() -> None:
    """The TOML is the source of truth; the script only documents how it was laid out."""
    assert CORPUS.read_text() == render()


def test_selection_and_a_bad_entry(corpus: list[Entry], tmp_path: Path) -> None:
    holdout = select(corpus, Selection(split="holdout"))
    assert holdout
    assert all(e.split == "holdout" for e in holdout)
    dips = select(corpus, Selection(families=("dip",), limit=2))
    assert [e.family for e in dips] == ["dip", "dip"]
    with pytest.raises(CorpusError, match="no such stream"):
        select(corpus, Selection(ids=("nope",)))
    bad = tmp_path / "bad.toml"
    bad.write_text('[[stream]]\nid = "x"\nfamily = "dip"\nseed = 1\nstep_s = 60\ndays = 3\n')
    with pytest.raises(CorpusError, match="'split' must be one of"):
        load(bad)


def test_a_run_writes_its_json_markdown_and_chart(tmp_path: Path) -> None:
    """Two short streams, the references only (fast): the report holds what was scored."""
    corpus = tmp_path / "corpus.toml"
    corpus.write_text(
        '[[stream]]\nid = "dip-x"\nfamily = "dip"\nseed = 1\nstep_s = 60\ndays = 3\n'
        'split = "tune"\n'
        '[[stream]]\nid = "daily-x"\nfamily = "daily"\nseed = 2\nstep_s = 300\ndays = 8\n'
        'split = "holdout"\n'
    )
    args = ["--corpus", str(corpus), "--out", str(tmp_path), "--workers", "1",
            "--detector", "zscore", "--detector", "ewma3"]  # fmt: skip
    assert cli.main(args) == 0
    report = json.loads((tmp_path / "detect.json").read_text())
    assert report["corpus"]["streams"] == 2
    assert not report["full_corpus"]
    assert list(report["detectors"]) == ["zscore", "ewma3", "zscore-tuned"]
    zscore = report["detectors"]["zscore"]["splits"]
    dips = len(load(corpus)[0].stream().labels)
    assert zscore["tune"]["windows"] == zscore["all"]["windows"] == dips
    assert zscore["holdout"]["windows"] == 0
    assert set(report["checks"]["zscore"]) == {"level_shift", "daily_quiet", "drops"}
    assert report["checks"]["zscore"]["daily_quiet"]["of"] == 1
    assert "## Scores" in (tmp_path / "detect.md").read_text()
    assert (tmp_path / "detect.png").read_bytes()[:4] == b"\x89PNG"
