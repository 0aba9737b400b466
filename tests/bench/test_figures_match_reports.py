"""Every figure in README.md and docs/*.md is what a committed report renders.

A figure edited by hand, or a report measured again without its documents
written again, fails here. `python -m bench.figures` writes every block from
the committed reports (and `--check` lists the ones that disagree).
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bench import figures
from bench.config import REPO_ROOT

REPORTS = (figures.BENCH, figures.SCORECARD, figures.RCA, figures.DETECT)


def test_the_reports_the_figures_are_rendered_from_are_there() -> None:
    missing = [str(path) for path in REPORTS if not (REPO_ROOT / path).is_file()]
    assert missing == [], "committed reports missing (git-ignored, or never committed?)"


def test_every_block_in_the_readme_and_docs_is_what_its_report_renders() -> None:
    assert figures.mismatches(REPO_ROOT) == []


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """The documents and reports of this checkout, copied: free to be spoiled."""
    (tmp_path / "docs").mkdir()
    shutil.copy(REPO_ROOT / "README.md", tmp_path / "README.md")
    for doc in (REPO_ROOT / "docs").glob("*.md"):
        shutil.copy(doc, tmp_path / "docs" / doc.name)
    for report in REPORTS:
        (tmp_path / report).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO_ROOT / report, tmp_path / report)
    assert figures.mismatches(tmp_path) == []
    return tmp_path


@pytest.mark.parametrize(
    ("doc", "block"),
    [
        ("README.md", "headline"),
        ("docs/performance.md", "bench"),
        ("docs/performance.md", "bench-A"),
        ("docs/scaling.md", "bench-J"),
        ("docs/evaluation.md", "evaluate"),
        ("docs/evaluation.md", "benchmark-rca"),
        ("docs/benchmark-detect.md", "benchmark-detect"),
    ],
)
def test_a_figure_edited_by_hand_is_caught(checkout: Path, doc: str, block: str) -> None:
    """The block's first digit changed, whatever the last run measured: a mismatch, there only."""
    path = checkout / doc
    text = path.read_text(encoding="utf-8")
    start, end = text.index(f"<!-- {block}:start -->"), text.index(f"<!-- {block}:end -->")
    body = text.index("\n", start)  # past the marker line, which has no figure
    digit = re.compile(r"\d").search(text, body, end)
    assert digit is not None, f"{doc}'s {block} block has no figure"
    spoiled = str((int(digit.group()) + 1) % 10)
    path.write_text(text[: digit.start()] + spoiled + text[digit.end() :], encoding="utf-8")
    found = figures.mismatches(checkout)
    assert [line.split(":")[0] for line in found] == [f"{doc}, block {block}"], found


def _bench(report: dict[str, Any]) -> None:
    report["sections"]["A"]["goals"][0]["value"] = 0.95  # the goal now met


def _scorecard(report: dict[str, Any]) -> None:
    report["duration_s"] = 600.0
    report["summary"]["detected"] -= 1


def _rca(report: dict[str, Any]) -> None:
    report["wall_s"] = 1800.0


def _detect(report: dict[str, Any]) -> None:
    report["detectors"]["zscore"]["splits"]["holdout"]["score"] = 12.5


@pytest.mark.parametrize(
    ("report", "change", "command", "blocks"),
    [
        (figures.BENCH, _bench, "bench", {"headline", "bench", "bench-A"}),
        (figures.SCORECARD, _scorecard, "evaluate", {"headline", "evaluate"}),
        (figures.RCA, _rca, "benchmark-rca", {"benchmark-rca"}),
        (figures.DETECT, _detect, "benchmark-detect", {"benchmark-detect"}),
    ],
)
def test_a_report_measured_again_is_caught_until_its_command_writes_the_docs(
    checkout: Path,
    report: Path,
    change: Callable[[dict[str, Any]], None],
    command: str,
    blocks: set[str],
) -> None:
    path = checkout / report
    raw = json.loads(path.read_text(encoding="utf-8"))
    change(raw)
    path.write_text(json.dumps(raw), encoding="utf-8")
    found = figures.mismatches(checkout)
    assert {line.split(":")[0].split("block ")[1] for line in found} == blocks, found
    figures.write(checkout, command)
    assert figures.mismatches(checkout) == []


def test_a_block_no_report_renders_or_whose_end_is_lost_is_caught(checkout: Path) -> None:
    readme = checkout / "README.md"
    text = readme.read_text(encoding="utf-8")
    readme.write_text(
        text.replace("<!-- headline:end -->", "")
        + "\n<!-- typed:start -->\n\n0.99\n\n<!-- typed:end -->\n",
        encoding="utf-8",
    )
    assert figures.mismatches(checkout) == [
        "README.md, block headline: not one start and one end marker",
        "README.md, block typed: no report renders it",
    ]


def test_a_block_that_lives_in_no_document_is_caught(checkout: Path) -> None:
    doc = checkout / "docs" / "performance.md"
    text = doc.read_text(encoding="utf-8")
    start, end = text.index("<!-- bench-B:start -->"), text.index("<!-- bench-B:end -->")
    doc.write_text(text[:start] + text[end + len("<!-- bench-B:end -->") :], encoding="utf-8")
    assert figures.mismatches(checkout) == ["block bench-B: in no document"]
