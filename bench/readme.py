"""Generated blocks in README.md and docs/*.md, and the Markdown of `make bench`'s sections.

A block is everything between `<!-- NAME:start -->` and `<!-- NAME:end -->`. The
documents decide where a block goes; a command only decides what it says, and
writes it with `write_blocks` — the one writer every measuring command uses.
What each block says is rendered from a committed report (bench/figures.py), so
a test can render every block again and compare.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from .report import Goal, Section

TABLE_HEADER = "| what (`make bench` section) | measured | goal |"
# A block's name, then its body; the end marker must repeat the name.
_BLOCK = re.compile(r"<!-- ([\w-]+):start -->(.*?)<!-- \1:end -->", re.S)


def block_markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def blocks_in(text: str) -> dict[str, str]:
    """Every block in `text`, by name: its body without the blank lines around it."""
    return {match.group(1): match.group(2).strip() for match in _BLOCK.finditer(text)}


def put_block(text: str, name: str, body: str) -> str:
    """`text` with what lies between the block's two markers (kept) replaced by `body`.

    The markers must be there, once each and in order.
    """
    start, end = block_markers(name)
    if text.count(start) != 1 or text.count(end) != 1 or text.index(start) > text.index(end):
        raise ValueError(f"needs the block markers {start} ... {end}, once each")
    head, rest = text.split(start)
    _, tail = rest.split(end)
    return f"{head}{start}\n\n{body.strip()}\n\n{end}{tail}"


def replace_block(doc: Path, name: str, body: str) -> None:
    """Write one block of one document; the document is left alone if its markers are wrong."""
    try:
        text = put_block(doc.read_text(encoding="utf-8"), name, body)
    except ValueError as exc:
        raise ValueError(f"{doc} {exc}") from None
    doc.write_text(text, encoding="utf-8")


def documents(root: Path) -> list[Path]:
    """Where blocks may live: README.md and docs/*.md under `root`."""
    return [p for p in [root / "README.md", *sorted((root / "docs").glob("*.md"))] if p.exists()]


def write_blocks(root: Path, bodies: Mapping[str, str]) -> list[str]:
    """Each block of `bodies` in every document that holds it; `path: name` of each written."""
    written = []
    for doc in documents(root):
        text = doc.read_text(encoding="utf-8")
        for name, body in bodies.items():
            if block_markers(name)[0] in text:
                replace_block(doc, name, body)
                written.append(f"{doc.relative_to(root)}: {name}")
    return written


def row(section: Section) -> str:
    """`| K. title (command) | what it measured | goals, met or missed |`."""
    goals = "; ".join(_goal(goal) for goal in section.goals) or "reported"
    return (
        f"| {section.key}. {section.title} (`BENCH_ONLY={section.key} make bench`) "
        f"| {measured(section)} | {goals} |"
    )


def measured(section: Section) -> str:
    """The section's own summary; else its goals' values (sections A-E keep no summary)."""
    if section.summary:
        return section.summary
    values = "; ".join(f"{goal.name} **{number(goal.value)}**" for goal in section.goals)
    return values or "its table, below"


def table(sections: Iterable[Section]) -> str:
    """One row per section, in the order of their keys."""
    rows = [row(s) for s in sorted(sections, key=lambda s: s.key)]
    return "\n".join([TABLE_HEADER, "| --- | --- | --- |", *rows])


def number(value: float) -> str:
    """A measured value with the digits that mean something: 0.81, 13.2, 2,353."""
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}"


def _goal(goal: Goal) -> str:
    bound = "≤" if goal.at_most else "≥"
    return f"{goal.name} {bound} {goal.target:g} — {'met' if goal.met else 'missed'}"


def section_markdown(section: Section) -> str:
    """A section's table, notes and goals as Markdown, with the command that measured it."""
    out = [f"`BENCH_ONLY={section.key} make bench` — {section.title}", ""]
    if section.rows:
        out += [_cells(section.headers), _cells(["---"] * len(section.headers))]
        out += [_cells(row) for row in section.rows]
        out.append("")
    out += [f"- {note}" for note in section.notes]
    out += [f"- goal {_goal(goal)}" for goal in section.goals]
    return "\n".join(out)


def _cells(cells: list[str]) -> str:
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"
