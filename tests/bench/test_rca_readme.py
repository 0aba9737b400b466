"""`make benchmark-rca` writes its README block between markers, never anything else."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.rca.metrics import summarise
from bench.rca.report import Meta, readme_block
from bench.readme import TABLE_HEADER, replace_block, rows_in

README = f"""# Title

{TABLE_HEADER}
| --- | --- | --- |
| H. ingest <!-- bench:H --> | 0.3 | met |

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
    assert rows_in(readme) == {"H": "| H. ingest <!-- bench:H --> | 0.3 | met |"}


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
