"""The docs' summary block and the README headline's row, rendered from `rca.json`."""

from __future__ import annotations

import os
from collections.abc import Sequence

from . import seasonal as habit
from .markdown import fraction, goal_text, score_table
from .metrics import Summary
from .report import Meta
from .seasonal import SeasonalResult


def headline(summary: Summary, meta: Meta, seasonal: Sequence[SeasonalResult] = ()) -> str:
    """The README headline's row: what the engine found of the simulated faults, and how well."""
    overall, rate = summary.overall, summary.fault_free.per_day_per_10
    engine, pagerank = overall.methods["engine"], overall.methods["pagerank"]
    ttd = overall.ttd_median_windows
    return (
        f"| {overall.faults} simulated faults ({meta.cases} cases, {len(summary.by_kind)} kinds, "
        f"6 to 50 services) and {summary.fault_free.hours:.0f} fault-free hours "
        f"| {overall.detected} detected ({overall.detection:.0%}); the root cause ranked first "
        f"for {fraction(engine.ac1)} of the faults, in the top three for {fraction(engine.ac3)} "
        f"(PageRank on the same detections: {fraction(pagerank.ac1)} / "
        f"{fraction(pagerank.ac3)}); detected in {'-' if ttd is None else f'{ttd:.1f}'} "
        f"windows (median); {'-' if rate is None else f'{rate:.2f}'} false incidents per 24 h "
        "per 10 services | `make benchmark-rca` |"
    )


def readme_block(summary: Summary, meta: Meta, seasonal: Sequence[SeasonalResult] = ()) -> str:
    """The docs' summary (docs/evaluation.md), between its markers; rendered from rca.json."""
    rate = summary.fault_free.per_day_per_10
    habits = habit.readme_line(seasonal)
    cpus = meta.cpus or os.cpu_count()
    return "\n".join(
        [
            f"Written by `{meta.command}` ({meta.wall_s / 60:.1f} min on {cpus} "
            f"CPUs, {meta.spans:,} spans, {meta.spans_per_s:,.0f} spans/s): {meta.cases} "
            f"simulated fault cases ({summary.overall.faults} faults, {len(summary.by_kind)} "
            f"kinds, 6 to 50 services) and {summary.fault_free.hours:.0f} fault-free hours, "
            "through the analyzer's "
            "engine with its default settings, next to two reference rankers given the same "
            "detections (docs/benchmark-rca.md; tables in `bench/results/rca.md`).",
            "",
            *score_table([summary.overall, *summary.by_split, *summary.by_kind], detail=False),
            "",
            f"False incidents: {summary.fault_free.incidents} in "
            f"{summary.fault_free.hours:.0f} fault-free hours, "
            f"**{'-' if rate is None else f'{rate:.2f}'}** per 24 h per 10 services; "
            f"{summary.in_cases.incidents} more in the fault cases, outside the faults.",
            "",
            *(f"- {goal_text(goal)}" for goal in summary.targets),
            *(["", habits] if habits else []),
            *(["", f"{len(summary.failed)} cases failed to run."] if summary.failed else []),
        ]
    )
