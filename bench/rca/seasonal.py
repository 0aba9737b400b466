"""Seasonal runs: days with a nightly routine, its incidents counted per day, and its report.

Pure: records, the per-day classification and the tables; the replay that
feeds them is in `bench.rca.run` (`run`). A routine spell's incidents are
those opened (or reopened) in [spell start, spell end + 5 min]: the same
opened touches the false-incident count sees, outside the fault's window.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bench.report import Goal

from .corpus import Seasonal
from .results import WINDOW_S, FalseIncident, FaultResult
from .text import table

ROUTINE_GRACE = timedelta(minutes=5)  # a spell's last slow windows are judged just after it
LEARN_DAYS = 3  # the engine's `seasonal_min_days`: days 1-3 are judged with no season yet
TARGET = f"a daily routine raises no incident once {LEARN_DAYS} days are known (days 4+)"


@dataclass(frozen=True, slots=True)
class Classified:
    """A run's false incidents: per routine spell (one a day), and the others."""

    by_day: list[int]
    routine: list[FalseIncident]
    other: list[FalseIncident]


def classify(
    incidents: Sequence[FalseIncident], spells: Sequence[tuple[datetime, datetime]]
) -> Classified:
    """`incidents` (opened outside the fault's window) by the spell, one a day, they fall in."""
    by_day = [0] * len(spells)
    routine: list[FalseIncident] = []
    other: list[FalseIncident] = []
    for incident in incidents:
        at = datetime.fromisoformat(incident.at)
        day = next((n for n, (a, b) in enumerate(spells) if a <= at <= b + ROUTINE_GRACE), None)
        if day is None:
            other.append(incident)
        else:
            by_day[day] += 1
            routine.append(incident)
    return Classified(by_day, routine, other)


@dataclass(frozen=True, slots=True)
class SeasonalResult:
    """One seasonal run, or a failed one (`error`)."""

    id: str
    split: str
    topology: str
    days: int
    services: int
    routine_incidents_by_day: list[int]
    fault: FaultResult | None  # the last day's; None when the run failed
    routine_incidents: list[FalseIncident]
    other_false_incidents: list[FalseIncident]
    spans: int
    windows: int
    simulated_s: float
    wall_s: float
    error: str | None = None

    @property
    def learning(self) -> int:
        """Routine incidents while no season is known yet: the run's own reference."""
        return sum(self.routine_incidents_by_day[:LEARN_DAYS])

    @property
    def judged(self) -> int:
        """Routine incidents once the season is known (days 4+): the target's count."""
        return sum(self.routine_incidents_by_day[LEARN_DAYS:])

    @property
    def ttd_windows(self) -> float | None:
        ttd = None if self.fault is None else self.fault.ttd_s
        return None if ttd is None else ttd / WINDOW_S

    def as_json(self) -> dict[str, Any]:
        fault = self.fault
        return {
            "id": self.id,
            "split": self.split,
            "topology": self.topology,
            "services": self.services,
            "days": self.days,
            "routine_incidents_by_day": self.routine_incidents_by_day,
            "fault_detected": fault is not None and fault.detected,
            "engine_rank": None if fault is None else fault.ranks.get("engine"),
            "ttd_s": None if fault is None else fault.ttd_s,
            "ttd_windows": self.ttd_windows,
            "other_false_incidents": len(self.other_false_incidents),
            "spans": self.spans,
            "windows": self.windows,
            "simulated_s": self.simulated_s,
            "wall_s": self.wall_s,
            "error": self.error,
            "fault": None if fault is None else dataclasses.asdict(fault),
            "routine_incident_list": [dataclasses.asdict(i) for i in self.routine_incidents],
            "other_false_incident_list": [
                dataclasses.asdict(i) for i in self.other_false_incidents
            ],
        }


def failed_seasonal(item: Seasonal, error: str, wall_s: float = 0.0) -> SeasonalResult:
    return SeasonalResult(
        item.id, item.split, item.topology, item.days, 0, [], None, [], [], 0, 0, 0.0,
        round(wall_s, 3), error,
    )  # fmt: skip


def target(results: Sequence[SeasonalResult]) -> Goal | None:
    """Routine incidents on days 4+, at most 0; None with no seasonal run, missed if one
    failed (what it would have said is unknown)."""
    if not results:
        return None
    unknown = any(r.error is not None for r in results)
    count = float("inf") if unknown else float(sum(r.judged for r in results))
    return Goal("routine incidents on days 4+", count, 0.0, at_most=True)


def target_text(goal: Goal) -> str:
    count = "unknown (a run failed)" if not math.isfinite(goal.value) else f"{goal.value:.0f}"
    return f"{TARGET}: {'met' if goal.met else 'missed'} ({count} routine incidents on days 4+)"


def target_json(goal: Goal | None) -> dict[str, Any] | None:
    if goal is None:
        return None
    value = goal.value if math.isfinite(goal.value) else None
    return {"name": TARGET, "value": value, "target": goal.target, "met": goal.met}


def _fault_cell(r: SeasonalResult) -> str:
    if r.fault is None or not r.fault.detected:
        return "not detected"
    windows = "-" if r.ttd_windows is None else f"{r.ttd_windows:.1f}"
    return f"{r.fault.ranks.get('engine') or '-'} / {windows} windows"


def section(results: Sequence[SeasonalResult]) -> list[str]:
    """The Markdown section; nothing when no seasonal run was selected."""
    if not results:
        return []
    body = [
        [r.id, r.split, str(r.days), f"failed: {r.error}", "-", "-"]
        if r.error is not None
        else [
            r.id,
            r.split,
            str(r.days),
            " ".join(str(n) for n in r.routine_incidents_by_day),
            _fault_cell(r),
            str(len(r.other_false_incidents)),
        ]
        for r in results
    ]
    headers = ["run", "split", "days", "routine incidents by day", "last-day fault: rank / TTD"]
    done = [r for r in results if r.error is None]
    detected = sum(1 for r in done if r.fault is not None and r.fault.detected)
    goal = target(results)
    return [
        "## Seasonality: a nightly batch",
        "",
        "Each run starts on a Monday; every night at 02:20 a batch slows the busiest database "
        "query for 40 minutes (a routine, not a fault), and on the last day at 14:00 one "
        f"latency fault. Days 1-{LEARN_DAYS} are judged with no season known yet: the run's "
        "own reference for days 4+ (docs/benchmark-rca.md).",
        "",
        *table([*headers, "other false incidents"], body),
        "",
        f"What it shows: the routine raised {sum(r.learning for r in done)} incidents on days "
        f"1-{LEARN_DAYS} and {sum(r.judged for r in done)} once its hour was known (days 4+); "
        f"the last-day fault was detected in {detected} of {len(done)} runs.",
        "",
        *([] if goal is None else [f"- {target_text(goal)}"]),
    ]


def readme_line(results: Sequence[SeasonalResult]) -> str:
    """One line for the README block; empty when no seasonal run was selected."""
    goal = target(results)
    if goal is None:
        return ""
    days = ", ".join(
        f"{r.id} `{' '.join(str(n) for n in r.routine_incidents_by_day) or 'failed'}`"
        for r in results
    )
    faults = ", ".join(_fault_cell(r) for r in results)
    return (
        f"Seasonality ({len(results)} runs of days with a nightly 40-min batch): routine "
        f"incidents by day {days}; last-day fault rank / TTD {faults}. {target_text(goal)}."
    )
