"""`rca.md`: the run's tables, per group and per fault the engine did not rank first."""

from __future__ import annotations

import math
from collections.abc import Sequence

from bench.report import Goal

from . import seasonal as habit
from .metrics import Group, Quiet, Summary
from .report import Meta, failed_runs
from .results import LABELS, METHODS, CaseResult
from .seasonal import SeasonalResult
from .text import table

RANKERS = tuple(m for m in METHODS if m != "engine")


def fraction(value: float) -> str:
    return f"{value:.2f}"


def seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def goal_text(goal: Goal) -> str:
    bound = "≤" if goal.at_most else "≥"
    value = "-" if not math.isfinite(goal.value) else f"{goal.value:.2f}"
    return f"{goal.name} {bound} {goal.target:g}: {value} — {'met' if goal.met else 'missed'}"


def score_table(groups: Sequence[Group], *, detail: bool = True) -> list[str]:
    """Per group: detection, TTD, then each method's AC@1 / AC@3 / Avg@5 and engine ratios."""
    headers = ["", "faults", "detected", "TTD median s (windows)", "TTD p90 s"]
    headers += [f"{LABELS[m]} AC@1 / AC@3 / Avg@5" for m in METHODS]
    if detail:
        headers += [f"engine ÷ {LABELS[m]} (AC@1)" for m in RANKERS]
    body = []
    for g in groups:
        windows = "" if g.ttd_median_windows is None else f" ({g.ttd_median_windows:.1f})"
        row = [
            g.name,
            str(g.faults),
            f"{g.detected} ({g.detection:.0%})",
            seconds(g.ttd_median_s) + windows,
            seconds(g.ttd_p90_s),
        ]
        row += [
            f"{fraction(s.ac1)} / {fraction(s.ac3)} / {fraction(s.avg5)}"
            for s in (g.methods[m] for m in METHODS)
        ]
        if detail:
            row += [_ratio(g.ratio(m)) for m in RANKERS]
        body.append(row)
    return table(headers, body)


def quiet_line(quiet: Quiet, what: str) -> str:
    rate = quiet.per_day_per_10
    per = "-" if rate is None else f"{rate:.2f}"
    return (
        f"{what}: **{quiet.incidents}** false incidents in {quiet.hours:.1f} simulated hours "
        f"over {quiet.runs} runs ({quiet.service_hours:,.0f} service-hours): "
        f"**{per}** per 24 h per 10 services."
    )


def markdown(
    summary: Summary,
    results: Sequence[CaseResult],
    meta: Meta,
    seasonal: Sequence[SeasonalResult] = (),
) -> str:
    habits = f", {meta.seasonal} seasonal runs" if meta.seasonal else ""
    out = [
        "# Root-cause benchmark",
        "",
        f"`{meta.command}`: {meta.cases} fault cases ({summary.overall.faults} faults), "
        f"{meta.fault_free} fault-free runs{habits}, {meta.spans:,} spans in {meta.wall_s:.0f} s "
        f"({meta.spans_per_s:,.0f} spans/s, {meta.workers} workers). Engine settings: the "
        "analyzer's defaults. Ranks are service-level; an undetected fault is a miss for "
        "every method. docs/benchmark-rca.md defines every figure.",
        "",
        "## Targets",
        "",
        *(f"- {goal_text(goal)}" for goal in summary.targets),
        "",
        "## Overall, tune and holdout",
        "",
        *score_table([summary.overall, *summary.by_split]),
        "",
        "## By fault kind",
        "",
        *score_table(summary.by_kind),
        "",
        "## By topology size (small ≤ 12 services, medium ≤ 25, large > 25)",
        "",
        *score_table(summary.by_size),
        "",
        "## By topology",
        "",
        *score_table(summary.by_topology),
        "",
        "## False incidents",
        "",
        quiet_line(summary.fault_free, "Fault-free runs"),
        "",
        quiet_line(summary.in_cases, "Fault cases, outside every fault's window"),
        "",
        *_free_table(results),
        "",
        *habit.section(seasonal),
        *([""] if seasonal else []),
        "## Faults the engine did not rank first",
        "",
        *_missed_table(results),
    ]
    broken = failed_runs(summary, seasonal)
    if broken:
        out += ["", "## Failed cases", ""]
        out += [f"- `{r.id}`: {r.error}" for r in broken]
    return "\n".join(out) + "\n"


def _free_table(results: Sequence[CaseResult]) -> list[str]:
    runs = [r for r in results if r.fault_free and r.error is None]
    body = [
        [
            r.id,
            r.split,
            str(r.services),
            f"{r.hours:.1f}",
            str(len(r.false_incidents)),
            ", ".join(sorted({f.root_cause for f in r.false_incidents})) or "-",
        ]
        for r in runs
    ]
    return table(["run", "split", "services", "hours", "incidents", "root causes"], body)


def _missed_table(results: Sequence[CaseResult]) -> list[str]:
    body = []
    for r in results:
        for f in r.faults:
            if f.ranks.get("engine") == 1:
                continue
            named = ", ".join(f.top3.get("engine", [])) or "-"
            body.append(
                [
                    r.id,
                    f.kind,
                    f.service,
                    f"{f.share:.0%}" + (f", ramp {f.ramp_s:.0f} s" if f.ramp_s else ""),
                    seconds(f.ttd_s) if f.detected else "not detected",
                    str(f.ranks.get("engine") or "-"),
                    named,
                    *(str(f.ranks.get(m) or "-") for m in RANKERS),
                ]
            )
    headers = ["case", "kind", "service", "share", "TTD s", "engine rank", "engine named"]
    return table([*headers, *(f"{LABELS[m]} rank" for m in RANKERS)], body)
