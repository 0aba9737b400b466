"""`make evaluate`'s scorecard in the README, written by the run itself, never copied.

`python -m bench.scorecard [evaluation/evaluation.md]` takes the summary of a
full `make evaluate` run (its scenario table and targets, the part of
`evaluation.md` before the per-scenario sections) and puts it between the
README's `<!-- evaluate:start -->` and `<!-- evaluate:end -->` markers.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from bench.config import REPO_ROOT
from bench.readme import replace_block

BLOCK = "evaluate"
TITLE = "# Chaos evaluation"
SCENARIOS = "## Scenarios"


def scorecard(markdown: str, duration_s: float | None) -> str:
    """The README block for one evaluation's Markdown report."""
    if not markdown.startswith(TITLE) or SCENARIOS not in markdown:
        raise ValueError(f"not a `make evaluate` report: it must start with {TITLE!r}")
    summary = markdown[len(TITLE) : markdown.index(SCENARIOS)].strip()
    summary = summary.replace("## Targets", "Targets:")
    took = f" ({duration_s / 60:.1f} min)" if duration_s else ""
    return (
        f"Written by `make evaluate`{took}, from `evaluation/evaluation.md` of its last full "
        f"run (every scenario):\n\n{summary}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.scorecard", description=__doc__)
    p.add_argument("report", type=Path, nargs="?", default=REPO_ROOT / "evaluation/evaluation.md")
    p.add_argument("--readme", type=Path, default=REPO_ROOT / "README.md")
    args = p.parse_args(argv)
    try:
        markdown = args.report.read_text(encoding="utf-8")
        facts = args.report.with_suffix(".json")
        duration = json.loads(facts.read_text())["duration_s"] if facts.exists() else None
        replace_block(args.readme, BLOCK, scorecard(markdown, duration))
    except (OSError, ValueError, KeyError) as exc:
        print(f"bench.scorecard: {exc}", file=sys.stderr)
        return 2
    print(f"{args.readme}: the {BLOCK} block written", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
