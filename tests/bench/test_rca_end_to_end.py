"""`python -m bench.rca` for real: the simulator, the engine's replay, the rankers, the reports.

Short cases from a corpus of their own (a few simulated minutes each), so
the whole run takes seconds; the scores themselves are the benchmark's
business, not this test's: it pins that every case is run, scored and written.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.rca.cli import main

CORPUS = """
[defaults]
warmup_s = 240
tail_s = 60

[[case]]
id = "e2e-latency-shop10"
seed = 7
topology = "shop10"
kinds = ["latency"]
split = "tune"

[[case]]
id = "e2e-kill+http_error-chain6"
seed = 8
topology = "chain6"
kinds = ["kill", "http_error"]
split = "holdout"

[[fault_free]]
id = "e2e-quiet-chain6"
seed = 9
topology = "chain6"
hours = 0.1
split = "tune"
"""


@pytest.fixture(name="corpus")
def _corpus(tmp_path: Path) -> Path:
    path = tmp_path / "corpus.toml"
    path.write_text(CORPUS)
    return path


def test_a_small_run_scores_every_case_and_writes_json_markdown_and_png(
    corpus: Path, tmp_path: Path
) -> None:
    out = tmp_path / "results"
    argv = ["--corpus", str(corpus), "--out", str(out), "--workers", "2", "--no-readme"]
    assert main(argv) == 0
    report = json.loads((out / "rca.json").read_text())
    cases = {case["id"]: case for case in report["cases"]}
    assert list(cases) == sorted(cases)  # sorted by id, whatever order they finished in
    assert set(cases) == {"e2e-latency-shop10", "e2e-kill+http_error-chain6", "e2e-quiet-chain6"}
    assert all(case["error"] is None and case["spans"] > 0 for case in cases.values())
    double = cases["e2e-kill+http_error-chain6"]["faults"]
    assert sorted(f["kind"] for f in double) == ["http_error", "kill"]
    assert all(set(f["ranks"]) == {"engine", "growth", "pagerank"} for f in double)
    assert cases["e2e-quiet-chain6"]["faults"] == []
    assert report["overall"]["faults"] == 3
    assert report["false_incidents"]["fault_free"]["hours"] == pytest.approx(0.1, rel=0.05)
    assert set(report["targets"]) >= {"AC@1", "AC@3", "detection rate"}
    assert report["full_corpus"] is False
    markdown = (out / "rca.md").read_text()
    assert "## Targets" in markdown
    assert "| latency |" in markdown
    assert (out / "rca.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_show_prints_the_truth_the_windows_and_the_scores(
    corpus: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--corpus", str(corpus), "--show", "e2e-latency-shop10"]) == 0
    shown = capsys.readouterr().out
    assert "truth: {" in shown
    assert "(in a fault window)" in shown
    assert "fault latency on" in shown
    assert "PageRank:" in shown


def test_an_unknown_case_is_an_error_not_a_crash(corpus: Path) -> None:
    assert main(["--corpus", str(corpus), "--case", "nope"]) == 2
