"""`make evaluate` writes its scorecard into the README between markers; never by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.config import REPO_ROOT
from bench.readme import block_markers
from bench.scorecard import main, scorecard

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
    block = scorecard(REPORT, 480.0)
    assert block.startswith("Written by `make evaluate` (8.0 min)")
    assert "| cold-start | yes | 10.1 s | yes | yes | 0 | 0 |" in block
    assert "Targets:\n\n| target | value | verdict |" in block
    assert "Every target met." in block
    assert "A paragraph" not in block
    assert "## " not in block


def test_the_command_writes_only_between_the_markers(tmp_path: Path) -> None:
    report = tmp_path / "evaluation.md"
    report.write_text(REPORT)
    (tmp_path / "evaluation.json").write_text('{"duration_s": 60}')
    readme = tmp_path / "README.md"
    start, end = block_markers("evaluate")
    readme.write_text(f"# T\n\n{start}\nstale figures\n{end}\n\n## After\n")
    assert main([str(report), "--readme", str(readme)]) == 0
    text = readme.read_text()
    assert "stale figures" not in text
    assert "(1.0 min)" in text
    assert text.startswith("# T\n\n")
    assert text.endswith(f"{end}\n\n## After\n")


@pytest.mark.parametrize("report", ["", "# Something else\n", REPORT.replace("## Scenarios", "")])
def test_a_file_that_is_not_a_report_is_refused_and_the_readme_kept(
    tmp_path: Path, report: str
) -> None:
    path = tmp_path / "evaluation.md"
    path.write_text(report)
    readme = tmp_path / "README.md"
    start, end = block_markers("evaluate")
    readme.write_text(f"{start}\nstale figures\n{end}\n")
    assert main([str(path), "--readme", str(readme)]) == 2
    assert readme.read_text() == f"{start}\nstale figures\n{end}\n"


def test_the_readme_scorecard_is_one_make_evaluate_wrote() -> None:
    """The committed README carries a generated scorecard, not hand-copied figures."""
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    start, end = block_markers("evaluate")
    block = text[text.index(start) + len(start) : text.index(end)]
    assert block.strip().startswith("Written by `make evaluate`")
    assert "| scenario | detected | time to detect |" in block
