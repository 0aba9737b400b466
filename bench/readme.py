"""The README's benchmark rows, written by `make bench` itself, never copied by hand.

A section that sets `Section.summary` owns one row of the README's performance
table, marked with `<!-- bench:KEY -->`: each run replaces that row with what
it measured, or adds it at the end of the table the first time.

A whole block can be owned the same way (`replace_block`): everything between
`<!-- NAME:start -->` and `<!-- NAME:end -->`, as `make benchmark-rca` keeps its summary,
and as docs/scaling.md holds the full tables of the scale sections (`write_sections`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from .report import Goal, Section

TABLE_HEADER = "| what (`make bench` section) | measured | goal |"


def marker(key: str) -> str:
    return f"<!-- bench:{key} -->"


def row(section: Section) -> str:
    """`| K. title (command) <!-- bench:K --> | summary | goals, met or missed |`."""
    goals = "; ".join(_goal(goal) for goal in section.goals) or "reported"
    return (
        f"| {section.key}. {section.title} (`BENCH_ONLY={section.key} make bench`) "
        f"{marker(section.key)} | {section.summary} | {goals} |"
    )


def _goal(goal: Goal) -> str:
    bound = "≤" if goal.at_most else "≥"
    return f"{goal.name} {bound} {goal.target:g} — {'met' if goal.met else 'missed'}"


def update(readme: Path, sections: Iterable[Section]) -> list[str]:
    """Write the row of every section that measured a summary; the keys written."""
    lines = readme.read_text(encoding="utf-8").splitlines()
    if TABLE_HEADER not in lines:
        raise ValueError(f"{readme} has no benchmark table (a line {TABLE_HEADER!r})")
    written = []
    for section in sections:
        if not section.summary or section.error:
            continue
        new = row(section)
        mine = [n for n, line in enumerate(lines) if marker(section.key) in line]
        if mine:
            lines[mine[0]] = new
        else:
            end = lines.index(TABLE_HEADER)
            while end + 1 < len(lines) and lines[end + 1].startswith("|"):
                end += 1
            lines.insert(end + 1, new)
        written.append(section.key)
    readme.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return written


def rows_in(readme: Path) -> dict[str, str]:
    """The generated rows in `readme`, by section key."""
    found = re.finditer(r"^\|.*<!-- bench:(\w+) -->.*$", readme.read_text(encoding="utf-8"), re.M)
    return {match.group(1): match.group(0) for match in found}


def block_markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def replace_block(readme: Path, name: str, body: str) -> None:
    """Replace what lies between the block's two markers (kept) with `body`.

    The markers must be there, once each and in order: the README decides
    where the block goes, the command only what it says.
    """
    start, end = block_markers(name)
    text = readme.read_text(encoding="utf-8")
    if text.count(start) != 1 or text.count(end) != 1 or text.index(start) > text.index(end):
        raise ValueError(f"{readme} needs the block markers {start} ... {end}, once each")
    head, rest = text.split(start)
    _, tail = rest.split(end)
    readme.write_text(f"{head}{start}\n\n{body.strip()}\n\n{end}{tail}", encoding="utf-8")


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


def write_sections(doc: Path, sections: Iterable[Section]) -> list[str]:
    """Each measured section whose block (`bench-KEY`) `doc` has: its full Markdown there."""
    written = []
    text = doc.read_text(encoding="utf-8")
    for section in sections:
        if (
            section.error
            or not section.summary
            or block_markers(f"bench-{section.key}")[0] not in text
        ):
            continue
        replace_block(doc, f"bench-{section.key}", section_markdown(section))
        text = doc.read_text(encoding="utf-8")
        written.append(section.key)
    return written
