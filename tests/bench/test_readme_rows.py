"""`make bench` writes its own README rows: added once, then replaced in place."""

from __future__ import annotations

from pathlib import Path

from bench.readme import TABLE_HEADER, rows_in, update, write_sections
from bench.report import Goal, Section

README = f"""# Title

{TABLE_HEADER}
| --- | --- | --- |
| A. by hand | 0.81 | ≥ 0.90 — missed |

After the table.
"""


def measured(value: float) -> Section:
    section = Section("H", "OTLP ingest", summary=f"**{value:.2f}** (spans/s)")
    section.goals = [Goal("otlp/raw", value, 0.5)]
    return section


def test_a_row_is_added_at_the_end_of_the_table_then_replaced(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(README)
    assert update(readme, [measured(0.31)]) == ["H"]
    assert update(readme, [measured(0.62)]) == ["H"]
    text = readme.read_text()
    assert text.count("<!-- bench:H -->") == 1
    assert rows_in(readme)["H"] == (
        "| H. OTLP ingest (`BENCH_ONLY=H make bench`) <!-- bench:H --> "
        "| **0.62** (spans/s) | otlp/raw ≥ 0.5 — met |"
    )
    lines = text.splitlines()
    assert (
        lines.index(rows_in(readme)["H"])
        == lines.index("| A. by hand | 0.81 | ≥ 0.90 — missed |") + 1
    )
    assert text.endswith("After the table.\n")


def test_a_section_that_failed_or_keeps_no_row_leaves_the_readme_alone(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(README)
    failed = measured(0.5)
    failed.error = "RuntimeError: no database"
    assert update(readme, [failed, Section("A", "middleware overhead")]) == []
    assert readme.read_text() == README


def test_a_section_fills_its_block_in_a_doc_and_only_its_own(tmp_path: Path) -> None:
    """docs/scaling.md holds each scale section's full table between its markers."""
    doc = tmp_path / "scaling.md"
    doc.write_text("# Scale\n<!-- bench-H:start -->\nold\n<!-- bench-H:end -->\nkept\n")
    section = measured(0.7)
    section.headers, section.rows, section.notes = ["a", "b|c"], [["1", "2"]], ["a note"]
    assert write_sections(doc, [section, Section("Z", "no block", summary="x")]) == ["H"]
    text = doc.read_text()
    assert "old" not in text
    assert "`BENCH_ONLY=H make bench` — OTLP ingest" in text
    assert "| a | b\\|c |" in text
    assert "- goal otlp/raw ≥ 0.5 — met" in text
    assert text.endswith("<!-- bench-H:end -->\nkept\n")
