"""Every generated block of README.md and docs/*.md, rendered from a committed report.

| block | rendered from | written by |
| --- | --- | --- |
| `bench` (the table), `bench-<KEY>` (a section) | bench/results/bench.json | `make bench` |
| `evaluate` | bench/results/scorecard.json | `make evaluate` (bench.scorecard) |
| `benchmark-rca` | bench/results/rca.json | `make benchmark-rca` |
| `benchmark-detect` | bench/results/detect.json | `make benchmark-detect` |
| `headline` (README) | all four | each of the four |

A command writes its report, then renders its blocks from the report on disk
(`write`), so what a document says is what a report holds: a test renders
every block again and compares (`mismatches`).
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from .config import REPO_ROOT, SECTIONS
from .readme import blocks_in, documents, number, section_markdown, table
from .readme import write_blocks as _write_blocks
from .report import Goal, Section

BENCH = Path("bench/results/bench.json")
SCORECARD = Path("bench/results/scorecard.json")
RCA = Path("bench/results/rca.json")
DETECT = Path("bench/results/detect.json")
# The `make bench` sections the README's headline shows; docs/performance.md has them all.
HEADLINE_SECTIONS = ("A", "C", "H", "J", "K", "L", "N")
_START = re.compile(r"<!-- ([\w-]+):start -->")


# -- make bench's report: the sections each last run measured ---------------------------


def section_json(section: Section) -> dict[str, Any]:
    return {
        "title": section.title,
        "summary": section.summary,
        "headers": section.headers,
        "rows": section.rows,
        "notes": section.notes,
        "goals": [
            {"name": g.name, "value": g.value, "target": g.target, "at_most": g.at_most}
            for g in section.goals
        ],
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def section_from_json(key: str, raw: dict[str, Any]) -> Section:
    return Section(
        key,
        raw["title"],
        headers=list(raw["headers"]),
        rows=[list(r) for r in raw["rows"]],
        notes=list(raw["notes"]),
        goals=[Goal(**g) for g in raw["goals"]],
        summary=raw["summary"],
    )


def record_sections(path: Path, sections: Iterable[Section]) -> list[str]:
    """Put each section measured without error into `path`, keeping the others' last figures."""
    report: dict[str, Any] = (
        json.loads(path.read_text(encoding="utf-8")) if path.exists() else {"sections": {}}
    )
    report["about"] = (
        "What `make bench` last measured, section by section: each run replaces the sections "
        "it measured. README.md and docs/*.md are rendered from this file (bench/figures.py)."
    )
    kept = []
    for section in sections:
        if section.error is None:
            report["sections"][section.key] = section_json(section)
            kept.append(section.key)
    report["sections"] = dict(sorted(report["sections"].items()))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return kept


# -- the reports, as a checkout has them ---------------------------------------------------


@dataclass
class Reports:
    """The committed reports under `root`, each read when first needed."""

    root: Path

    def _json(self, path: Path) -> Any:
        full = self.root / path
        if not full.exists():
            raise FileNotFoundError(f"{path} is missing: the report its blocks are rendered from")
        return json.loads(full.read_text(encoding="utf-8"))

    @cached_property
    def bench(self) -> dict[str, Section]:
        raw = self._json(BENCH)["sections"]
        return {key: section_from_json(key, value) for key, value in raw.items()}

    @cached_property
    def scorecard(self) -> dict[str, Any]:
        found: dict[str, Any] = self._json(SCORECARD)
        return found

    @cached_property
    def rca_block(self) -> str:
        from .rca.headline import readme_block  # the simulator's imports, only when needed
        from .rca.report import load

        return readme_block(*load(self.root / RCA))

    @cached_property
    def rca_headline(self) -> str:
        from .rca.headline import headline
        from .rca.report import load

        return headline(*load(self.root / RCA))

    @cached_property
    def detect_headline(self) -> str:
        from .detect.markdown import headline

        return headline(self._json(DETECT))

    @cached_property
    def detect_block(self) -> str:
        from .detect.markdown import readme_block  # plain JSON in, Markdown out

        return readme_block(self._json(DETECT))


# -- what each block says ------------------------------------------------------------------

Render = Callable[[Reports], str]


def _bench_section(key: str) -> Render:
    return lambda reports: section_markdown(reports.bench[key])


def renderers(reports: Reports) -> dict[str, tuple[str, Render]]:
    """Every block, by name: the command that writes it, and how it is rendered."""
    from .scorecard import scorecard  # bench.scorecard writes through this module

    found: dict[str, tuple[str, Render]] = {
        "headline": ("*", headline),
        "bench": ("bench", lambda r: table(r.bench.values())),
        "evaluate": ("evaluate", lambda r: scorecard(r.scorecard)),
        "benchmark-rca": ("benchmark-rca", lambda r: r.rca_block),
        "benchmark-detect": ("benchmark-detect", lambda r: r.detect_block),
    }
    keys = reports.bench if (reports.root / BENCH).exists() else SECTIONS
    for key in keys:
        found[f"bench-{key}"] = ("bench", _bench_section(key))
    return found


def render(
    reports: Reports, command: str | None = None, only: set[str] | None = None
) -> dict[str, str]:
    """The blocks `command` writes (all of them for None; of those, `only`), from the reports."""
    return {
        name: draw(reports)
        for name, (by, draw) in renderers(reports).items()
        if (command is None or by in (command, "*")) and (only is None or name in only)
    }


def write(root: Path, command: str) -> list[str]:
    """After `command` wrote its report: its blocks, and the headline, wherever they are."""
    texts = (doc.read_text(encoding="utf-8") for doc in documents(root))
    present = {name for text in texts for name in _START.findall(text)}
    return _write_blocks(root, render(Reports(root), command, present))


def mismatches(root: Path) -> list[str]:
    """Every block that is not what its report renders, that no report renders, or that no
    document holds (its command would write nowhere)."""
    reports = Reports(root)
    known = renderers(reports)
    found, seen = [], set()
    for doc in documents(root):
        text = doc.read_text(encoding="utf-8")
        blocks = blocks_in(text)
        for name in _START.findall(text):
            where = f"{doc.relative_to(root)}, block {name}"
            seen.add(name)
            if name not in blocks or text.count(f"<!-- {name}:start -->") > 1:
                found.append(f"{where}: not one start and one end marker")
            elif name not in known:
                found.append(f"{where}: no report renders it")
            elif blocks[name] != (expected := known[name][1](reports).strip()):
                found.append(
                    f"{where}: not what its report renders ({_diff(blocks[name], expected)})"
                )
    found += [f"block {name}: in no document" for name in known if name not in seen]
    return found


def _diff(body: str, expected: str) -> str:
    for have, want in zip(body.splitlines(), expected.splitlines(), strict=False):
        if have != want:
            return f"has {have!r}, the report renders {want!r}"
    return "one has lines the other lacks"


# -- the README's headline ------------------------------------------------------------------


def headline(reports: Reports) -> str:
    """One row per measuring command (and per chosen `make bench` section), with its command."""
    rows = [
        _or_missing(lambda: evaluate_headline(reports.scorecard), "make evaluate"),
        _or_missing(lambda: reports.rca_headline, "make benchmark-rca"),
        _or_missing(lambda: reports.detect_headline, "make benchmark-detect"),
    ]
    try:
        sections = reports.bench
    except FileNotFoundError:
        sections = {}
    rows += [_bench_headline(sections[key]) for key in HEADLINE_SECTIONS if key in sections]
    return "\n".join(["| what | measured | by |", "| --- | --- | --- |", *rows])


def _or_missing(row: Callable[[], str], command: str) -> str:
    try:
        return row()
    except FileNotFoundError:
        return f"| `{command}` | not measured yet | `{command}` |"


def evaluate_headline(record: dict[str, Any]) -> str:
    s = record["summary"]
    if s is None:  # kept without its evaluation.json
        return (
            "| chaos scenarios against the running stack | docs/evaluation.md | `make evaluate` |"
        )
    n = s["fault_scenarios"]
    verdict = "every target met" if s["all_targets_met"] else "**a target missed**"
    median, worst = (
        "-" if v is None else f"{v:.1f} s"
        for v in (s["time_to_detect_median_s"], s["time_to_detect_worst_s"])
    )
    return (
        f"| {n + s['controls']} chaos scenarios against the running stack "
        f"| {s['detected']}/{n} faults detected, the root cause named first in "
        f"{s['rca_top1_correct']}/{n}; detected in {median} (median), {worst} at worst; "
        f"{s['false_positives_control']} incidents with no fault; {verdict} "
        "| `make evaluate` |"
    )


def _bench_headline(section: Section) -> str:
    goals = "; ".join(
        f"{g.name} **{number(g.value)}** ({'≤' if g.at_most else '≥'} {g.target:g}: "
        f"{'met' if g.met else 'missed'})"
        for g in section.goals
    )
    return (
        f"| {section.key}. {SECTIONS[section.key]} | {goals} "
        f"| `BENCH_ONLY={section.key} make bench` |"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m bench.figures [--check]`: render every block from the committed reports."""
    p = argparse.ArgumentParser(prog="python -m bench.figures", description=main.__doc__)
    p.add_argument("--check", action="store_true", help="only say which blocks disagree")
    args = p.parse_args(argv)
    if args.check:
        found = mismatches(REPO_ROOT)
        print("\n".join(found) or "every block is what its report renders")
        return 1 if found else 0
    for written in _write_blocks(REPO_ROOT, render(Reports(REPO_ROOT))):
        print(f"{written}: written")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
