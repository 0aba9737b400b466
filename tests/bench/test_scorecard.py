"""`make evaluate` keeps its scorecard in bench/results and writes the docs from it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bench import figures
from bench.config import REPO_ROOT
from bench.readme import block_markers
from bench.scorecard import main, scorecard, summary_of

REPORT = """# Chaos evaluation

| scenario | detected | time to detect | RCA top-1 | RCA top-3 | false pos. | false neg. |
| --- | --- | --- | --- | --- | --- | --- |
| cold-start | yes | 10.1 s | yes | yes | 0 | 0 |

Time to detect: median 10.1 s, worst 10.1 s (over 1 detected).

## Targets

| target | value | verdict |
| --- | --- | --- |
| every fault scenario detected | 1/1 | met |

Every target met.

## Scenarios

### cold-start

A paragraph the README does not need.
"""


def test_the_scorecard_is_the_reports_summary_without_its_scenarios() -> None:
    block = scorecard({"duration_s": 480.0, "report": summary_of(REPORT)})
    assert block.startswith("Written by `make evaluate` (8.0 min)")
    assert "| cold-start | yes | 10.1 s | yes | yes | 0 | 0 |" in block
    assert "Targets:\n\n| target | value | verdict |" in block
    assert "Every target met." in block
    assert "A paragraph" not in block
    assert "## " not in block


def checkout(tmp_path: Path, docs: str) -> Path:
    """A checkout with the docs given, and the other reports the README's headline reads."""
    (tmp_path / "docs").mkdir(parents=True)
    (tmp_path / "docs" / "evaluation.md").write_text(docs)
    for report in (figures.BENCH, figures.RCA):
        (tmp_path / report).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO_ROOT / report, tmp_path / report)
    return tmp_path


def test_the_command_keeps_the_run_and_writes_only_between_the_markers(tmp_path: Path) -> None:
    report = tmp_path / "evaluation.md"
    report.write_text(REPORT)
    summary = {
        "fault_scenarios": 1, "controls": 0, "detected": 1, "rca_top1_correct": 1,
        "time_to_detect_median_s": 10.1, "time_to_detect_worst_s": 10.1,
        "false_positives_control": 0, "all_targets_met": True,
    }  # fmt: skip
    (tmp_path / "evaluation.json").write_text(json.dumps({"duration_s": 60, "summary": summary}))
    start, end = block_markers("evaluate")
    root = checkout(tmp_path / "repo", f"# T\n\n{start}\nstale figures\n{end}\n\n## After\n")
    (root / "README.md").write_text("<!-- headline:start -->\n<!-- headline:end -->\n")
    assert main([str(report), "--root", str(root)]) == 0
    text = (root / "docs" / "evaluation.md").read_text()
    assert "stale figures" not in text
    assert "(1.0 min)" in text
    assert text.startswith("# T\n\n")
    assert text.endswith(f"{end}\n\n## After\n")
    kept = json.loads((root / figures.SCORECARD).read_text())
    assert kept["summary"] == summary
    assert "| 1 chaos scenarios against the running stack | 1/1 faults detected" in (
        (root / "README.md").read_text()
    )
    assert kept["report"] == summary_of(REPORT)


@pytest.mark.parametrize("report", ["", "# Something else\n", REPORT.replace("## Scenarios", "")])
def test_a_file_that_is_not_a_report_is_refused_and_the_docs_kept(
    tmp_path: Path, report: str
) -> None:
    path = tmp_path / "evaluation.md"
    path.write_text(report)
    start, end = block_markers("evaluate")
    root = checkout(tmp_path / "repo", f"{start}\nstale figures\n{end}\n")
    assert main([str(path), "--root", str(root)]) == 2
    assert (root / "docs" / "evaluation.md").read_text() == f"{start}\nstale figures\n{end}\n"
    assert not (root / figures.SCORECARD).exists()
