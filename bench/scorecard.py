"""`make evaluate`'s scorecard in the docs, written by the run itself, never copied.

`python -m bench.scorecard [evaluation/evaluation.md]` keeps the summary of a full
`make evaluate` run (its scenario table and targets: the part of `evaluation.md`
before the per-scenario sections, and `evaluation.json`'s `summary`) in
bench/results/scorecard.json, then renders the `evaluate` block
(docs/evaluation.md) and the README's headline from it (bench/figures.py).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench import figures
from bench.config import REPO_ROOT

COMMAND = "evaluate"  # the command name bench.figures knows the block by
TITLE = "# Chaos evaluation"
SCENARIOS = "## Scenarios"


def summary_of(markdown: str) -> str:
    """The scenario table and the targets of one `make evaluate` report."""
    if not markdown.startswith(TITLE) or SCENARIOS not in markdown:
        raise ValueError(f"not a `make evaluate` report: it must start with {TITLE!r}")
    return markdown[len(TITLE) : markdown.index(SCENARIOS)].strip()


def record(markdown: str, facts: dict[str, Any]) -> dict[str, Any]:
    """What bench/results/scorecard.json keeps of one run (`facts`: its evaluation.json)."""
    return {
        "about": "The last full `make evaluate` run, as bench.scorecard keeps it; "
        "docs/evaluation.md and README.md are rendered from it (bench/figures.py).",
        "finished_at": facts.get("finished_at"),
        "duration_s": facts.get("duration_s"),
        "summary": facts.get("summary"),
        "report": summary_of(markdown),
    }


def scorecard(kept: dict[str, Any]) -> str:
    """The docs' block for one kept run."""
    duration_s = kept.get("duration_s")
    took = f" ({duration_s / 60:.1f} min)" if duration_s else ""
    summary = str(kept["report"]).replace("## Targets", "Targets:")
    return (
        f"Written by `make evaluate`{took}, from `evaluation/evaluation.md` of its last full "
        f"run (every scenario):\n\n{summary}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.scorecard", description=__doc__)
    p.add_argument("report", type=Path, nargs="?", default=REPO_ROOT / "evaluation/evaluation.md")
    p.add_argument("--root", type=Path, default=REPO_ROOT, help="the checkout to write into")
    args = p.parse_args(argv)
    try:
        markdown = args.report.read_text(encoding="utf-8")
        facts_path = args.report.with_suffix(".json")
        facts = json.loads(facts_path.read_text()) if facts_path.exists() else {}
        kept = record(markdown, facts)
        path = args.root / figures.SCORECARD
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(kept, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        written = figures.write(args.root, COMMAND)
    except (OSError, ValueError, KeyError) as exc:
        print(f"bench.scorecard: {exc}", file=sys.stderr)
        return 2
    print(f"{figures.SCORECARD} kept; written: {', '.join(written) or 'nothing'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
