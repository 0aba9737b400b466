"""`make bench` keeps each section's figures in its report, and renders the docs from it."""

from __future__ import annotations

import json
from pathlib import Path

from bench import figures
from bench.readme import section_markdown, table, write_blocks
from bench.report import Goal, Section


def measured(value: float, key: str = "H") -> Section:
    section = Section(key, "OTLP ingest", summary=f"**{value:.2f}** (spans/s)")
    section.goals = [Goal("otlp/raw", value, 0.5)]
    return section


def test_the_table_has_one_row_per_section_in_key_order() -> None:
    no_summary = Section("A", "middleware overhead", goals=[Goal("instrumented/bare", 0.8123, 0.9)])
    rows = table([measured(0.62), no_summary, Section("D", "checkout")]).splitlines()
    assert rows[2:] == [
        "| A. middleware overhead (`BENCH_ONLY=A make bench`) | instrumented/bare **0.81** "
        "| instrumented/bare ≥ 0.9 — missed |",
        "| D. checkout (`BENCH_ONLY=D make bench`) | its table, below | reported |",
        "| H. OTLP ingest (`BENCH_ONLY=H make bench`) | **0.62** (spans/s) "
        "| otlp/raw ≥ 0.5 — met |",
    ]


def test_a_run_replaces_the_sections_it_measured_and_keeps_the_others(tmp_path: Path) -> None:
    report = tmp_path / "bench.json"
    assert figures.record_sections(report, [measured(0.31, "H"), measured(0.4, "B")]) == ["H", "B"]
    failed = measured(0.9, "B")
    failed.error = "RuntimeError: no database"
    assert figures.record_sections(report, [measured(0.62, "H"), failed]) == ["H"]
    kept = json.loads(report.read_text())["sections"]
    assert list(kept) == ["B", "H"]
    assert figures.section_from_json("B", kept["B"]).goals[0].value == 0.4
    again = figures.section_from_json("H", kept["H"])
    assert section_markdown(again) == section_markdown(measured(0.62, "H"))


def test_a_section_renders_its_table_notes_and_goals() -> None:
    section = measured(0.7)
    section.headers, section.rows, section.notes = ["a", "b|c"], [["1", "2"]], ["a note"]
    text = section_markdown(section)
    assert text.startswith("`BENCH_ONLY=H make bench` — OTLP ingest\n")
    assert "| a | b\\|c |" in text
    assert "- a note\n- goal otlp/raw ≥ 0.5 — met" in text


def test_a_block_is_written_in_every_document_that_holds_it_and_only_there(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    block = "<!-- bench-H:start -->\nold\n<!-- bench-H:end -->"
    (tmp_path / "README.md").write_text(f"# T\n{block}\nkept\n")
    (tmp_path / "docs" / "scaling.md").write_text(f"{block}\n")
    (tmp_path / "docs" / "other.md").write_text("no block\n")
    written = write_blocks(tmp_path, {"bench-H": "new", "bench-Z": "nowhere"})
    assert written == ["README.md: bench-H", "docs/scaling.md: bench-H"]
    assert (tmp_path / "README.md").read_text() == (
        "# T\n<!-- bench-H:start -->\n\nnew\n\n<!-- bench-H:end -->\nkept\n"
    )
    assert (tmp_path / "docs" / "other.md").read_text() == "no block\n"
