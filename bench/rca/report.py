"""`rca.json`: everything a run found, per case too (`report_json`), and back (`load`): the
Markdown and the docs' lines are rendered from it."""

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
from .results import CaseResult, FalseIncident, FaultResult
from .seasonal import SeasonalResult


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
        "failed": {r.id: r.error for r in failed_runs(summary, seasonal)},
        "cases": [r.as_json() for r in results],
    }


def failed_runs(
    summary: Summary, seasonal: Sequence[SeasonalResult]
) -> list[CaseResult | SeasonalResult]:
    return [*summary.failed, *(r for r in seasonal if r.error is not None)]


def write_json(path: Path, payload: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
    tmp.replace(path)  # a reader never sees half a report


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
