"""`rca.json` (everything, per case too), `rca.md` (tables), and the docs' block and README
headline row, rendered from `rca.json` (`load`)."""

from __future__ import annotations

import json
import math
import os
import platform
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.report import Goal

from . import seasonal as habit
from .metrics import Group, Quiet, Summary, summarise
from .results import LABELS, METHODS, CaseResult, FalseIncident, FaultResult
from .seasonal import SeasonalResult
from .text import table

RANKERS = tuple(m for m in METHODS if m != "engine")


@dataclass(frozen=True, slots=True)
class Meta:
    """How the run went: what was asked, how long it took."""

    command: str
    wall_s: float
    workers: int
    spans: int
    cases: int
    fault_free: int
    full: bool  # the whole corpus, unfiltered
    seasonal: int = 0  # seasonal runs
    cpus: int | None = None  # of the machine it ran on; None: this one
    rate: float | None = None  # spans/s as rca.json has it (its wall_s is rounded)

    @property
    def spans_per_s(self) -> float:
        if self.rate is not None:
            return self.rate
        return self.spans / self.wall_s if self.wall_s > 0 else 0.0


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _goal_json(goal: Goal) -> dict[str, Any]:
    return {
        "value": _finite(goal.value),
        "target": goal.target,
        "at_most": goal.at_most,
        "met": goal.met,
    }


def _quiet_json(quiet: Quiet) -> dict[str, Any]:
    return {
        "runs": quiet.runs,
        "incidents": quiet.incidents,
        "hours": quiet.hours,
        "service_hours": quiet.service_hours,
        "per_24h_per_10_services": quiet.per_day_per_10,
    }


def report_json(
    summary: Summary,
    results: Sequence[CaseResult],
    meta: Meta,
    seasonal: Sequence[SeasonalResult] = (),
) -> dict[str, Any]:
    def groups(found: Sequence[Group]) -> dict[str, Any]:
        return {g.name: g.as_json() for g in found}

    return {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": meta.command,
        "wall_s": round(meta.wall_s, 1),
        "spans": meta.spans,
        "spans_per_s": round(meta.spans_per_s),
        "workers": meta.workers,
        "full_corpus": meta.full,
        "machine": {
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
            "platform": platform.platform(),
        },
        "settings": "aiops_engine.replay.ReplayConfig() defaults (the live analyzer's)",
        "overall": summary.overall.as_json(),
        "by_kind": groups(summary.by_kind),
        "by_size": groups(summary.by_size),
        "by_split": groups(summary.by_split),
        "by_topology": groups(summary.by_topology),
        "false_incidents": {
            "fault_free": _quiet_json(summary.fault_free),
            "in_fault_cases_outside_faults": _quiet_json(summary.in_cases),
        },
        "targets": {goal.name: _goal_json(goal) for goal in summary.targets},
        # Apart from the six targets and from every rate above: its own section.
        "seasonal_target": habit.target_json(habit.target(seasonal)),
        "seasonal": [r.as_json() for r in seasonal],
        "failed": {r.id: r.error for r in _failed(summary, seasonal)},
        "cases": [r.as_json() for r in results],
    }


def _failed(
    summary: Summary, seasonal: Sequence[SeasonalResult]
) -> list[CaseResult | SeasonalResult]:
    return [*summary.failed, *(r for r in seasonal if r.error is not None)]


def write_json(path: Path, payload: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
    tmp.replace(path)  # a reader never sees half a report


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
    broken = _failed(summary, seasonal)
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


def load(path: Path) -> tuple[Summary, Meta, list[SeasonalResult]]:
    """What `readme_block` and `headline` need, from an `rca.json` as `report_json` wrote it."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    cases = [CaseResult.from_json(c) for c in raw["cases"]]
    seasonal = [_seasonal_from_json(r) for r in raw.get("seasonal", [])]
    meta = Meta(
        command=raw["command"],
        wall_s=raw["wall_s"],
        workers=raw["workers"],
        spans=raw["spans"],
        cases=sum(not c.fault_free for c in cases),
        fault_free=sum(c.fault_free for c in cases),
        full=raw["full_corpus"],
        seasonal=len(seasonal),
        cpus=raw["machine"]["cpus"],
        rate=raw["spans_per_s"],
    )
    return summarise(cases), meta, seasonal


def _seasonal_from_json(raw: dict[str, Any]) -> SeasonalResult:
    fault = raw["fault"]
    return SeasonalResult(
        id=raw["id"],
        split=raw["split"],
        topology=raw["topology"],
        days=raw["days"],
        services=raw["services"],
        routine_incidents_by_day=raw["routine_incidents_by_day"],
        fault=None if fault is None else FaultResult(**fault),
        routine_incidents=[FalseIncident(**i) for i in raw["routine_incident_list"]],
        other_false_incidents=[FalseIncident(**i) for i in raw["other_false_incident_list"]],
        spans=raw["spans"],
        windows=raw["windows"],
        simulated_s=raw["simulated_s"],
        wall_s=raw["wall_s"],
        error=raw["error"],
    )


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
