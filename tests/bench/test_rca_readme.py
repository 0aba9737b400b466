"""`make benchmark-rca` writes its docs block between markers, rendered from rca.json."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.rca.headline import headline, readme_block
from bench.rca.metrics import summarise
from bench.rca.report import Meta, load, report_json, write_json
from bench.readme import replace_block
from tests.bench.test_rca_metrics import case, fault

README = """# Title

| a | table |
| --- | --- |
| H. ingest | 0.3 |

## Root-cause benchmark

<!-- benchmark-rca:start -->
old text
<!-- benchmark-rca:end -->

## Development
"""


def test_the_block_between_the_markers_is_replaced_and_the_rest_kept(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(README)
    replace_block(readme, "benchmark-rca", "first\n")
    replace_block(readme, "benchmark-rca", "| a | b |\n| --- | --- |")
    text = readme.read_text()
    assert "old text" not in text
    assert "first" not in text
    assert (
        "<!-- benchmark-rca:start -->\n\n| a | b |\n| --- | --- |\n\n<!-- benchmark-rca:end -->"
        in text
    )
    assert text.startswith("# Title\n")
    assert text.endswith("\n## Development\n")
    assert "| H. ingest | 0.3 |\n" in text


@pytest.mark.parametrize(
    "broken",
    [
        README.replace("<!-- benchmark-rca:end -->\n", ""),
        README.replace("<!-- benchmark-rca:start -->\n", ""),
        README + "<!-- benchmark-rca:start -->\n",
    ],
)
def test_missing_or_doubled_markers_leave_the_readme_alone(tmp_path: Path, broken: str) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(broken)
    with pytest.raises(ValueError, match="benchmark-rca:start"):
        replace_block(readme, "benchmark-rca", "new")
    assert readme.read_text() == broken


def test_the_block_states_the_command_the_scores_and_the_targets() -> None:
    meta = Meta("make benchmark-rca", 600.0, 2, 1_000_000, 0, 0, full=True)
    text = readme_block(summarise([]), meta)
    assert "Written by `make benchmark-rca` (10.0 min" in text
    assert "| all | 0 | 0 (0%) |" in text
    assert "- AC@1 ≥ 0.9: 0.00 — missed" in text
    assert "false incidents per 24 h per 10 services ≤ 1: - — missed" in text


def test_the_block_rendered_from_rca_json_is_the_one_the_run_would_render(tmp_path: Path) -> None:
    """The docs are rendered from the report on disk: nothing the block says is lost there."""
    results = [
        case("a", [fault("latency", 1, 2), fault("kill", None, ttd=None)]),
        case("b", [fault("cpu", 3)], split="holdout"),
        case("free", [], hours=6.0, false=1),
    ]
    summary = summarise(results)
    meta = Meta("make benchmark-rca", 600.0, 2, 1_234_567, 2, 1, full=True, cpus=2, rate=2058.0)
    path = tmp_path / "rca.json"
    write_json(path, report_json(summary, results, meta))
    loaded = load(path)
    assert readme_block(*loaded) == readme_block(summary, meta)
    assert headline(*loaded) == headline(summary, meta)
    assert "| 3 simulated faults (2 cases, 3 kinds" in headline(*loaded)
