"""Scores over many cases: AC@k, detection and time to detect by group; false-incident rates.

Definitions are the scorecard's (aiops_engine.replay.scorecard): a fault's
rank is where its service stands in what was named in its window; AC@k is
the share of *all* faults ranked within k (an undetected one is a miss),
Avg@5 the mean of AC@1..AC@5. Time to detect is over detected faults.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from aiops_engine.windows import percentile_cont
from bench.report import Goal

from .results import METHODS, WINDOW_S, CaseResult, FaultResult

TOP = 5


@dataclass(frozen=True, slots=True)
class Row:
    """One fault with the case around it: what every grouping needs."""

    case: str
    split: str
    topology: str
    size: str
    fault: FaultResult


def rows(results: Iterable[CaseResult]) -> list[Row]:
    return [
        Row(r.id, r.split, r.topology, r.size, fault)
        for r in results
        if not r.fault_free and r.error is None
        for fault in r.faults
    ]


def ac_at(ranks: Sequence[int | None], k: int) -> float:
    """Share of `ranks` within k; None (not detected, or not named) is a miss."""
    return sum(1 for r in ranks if r is not None and r <= k) / len(ranks) if ranks else 0.0


def avg_at(ranks: Sequence[int | None], top: int = TOP) -> float:
    return sum(ac_at(ranks, k) for k in range(1, top + 1)) / top


def quantile(values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between the closest ranks (numpy's default); None when empty."""
    return percentile_cont(sorted(values), [q])[0] if values else None


@dataclass(frozen=True, slots=True)
class MethodScore:
    ac1: float
    ac3: float
    avg5: float

    @classmethod
    def of(cls, ranks: Sequence[int | None]) -> MethodScore:
        return cls(ac_at(ranks, 1), ac_at(ranks, 3), avg_at(ranks))


@dataclass(frozen=True, slots=True)
class Group:
    """The scores of one set of faults (a kind, a size, a split, or all)."""

    name: str
    faults: int
    detected: int
    methods: dict[str, MethodScore]
    ttd_median_s: float | None
    ttd_p90_s: float | None

    @property
    def detection(self) -> float:
        return self.detected / self.faults if self.faults else 0.0

    @property
    def ttd_median_windows(self) -> float | None:
        return None if self.ttd_median_s is None else self.ttd_median_s / WINDOW_S

    @property
    def ttd_p90_windows(self) -> float | None:
        return None if self.ttd_p90_s is None else self.ttd_p90_s / WINDOW_S

    def ratio(self, method: str, ac: str = "ac1") -> float | None:
        """engine / `method` on AC@1 (or `ac`); None when the ranker scored 0."""
        ranker = getattr(self.methods[method], ac)
        return getattr(self.methods["engine"], ac) / ranker if ranker else None

    def as_json(self) -> dict[str, Any]:
        return {
            "faults": self.faults,
            "detected": self.detected,
            "detection": self.detection,
            "ttd_median_s": self.ttd_median_s,
            "ttd_p90_s": self.ttd_p90_s,
            "ttd_median_windows": self.ttd_median_windows,
            "ttd_p90_windows": self.ttd_p90_windows,
            **{
                m: {
                    "ac1": s.ac1,
                    "ac3": s.ac3,
                    "avg5": s.avg5,
                    "engine_ratio_ac1": self.ratio(m) if m != "engine" else None,
                }
                for m, s in self.methods.items()
            },
        }


def group(name: str, faults: Sequence[Row]) -> Group:
    delays = [r.fault.ttd_s for r in faults if r.fault.ttd_s is not None]
    return Group(
        name=name,
        faults=len(faults),
        detected=sum(1 for r in faults if r.fault.detected),
        methods={m: MethodScore.of([r.fault.ranks.get(m) for r in faults]) for m in METHODS},
        ttd_median_s=statistics.median(delays) if delays else None,
        ttd_p90_s=quantile(delays, 0.9),
    )


def grouped(faults: Sequence[Row], key: Callable[[Row], str], order: Sequence[str]) -> list[Group]:
    """One group per value of `key`, in `order` first, then any others by name."""
    values = sorted({key(r) for r in faults}, key=lambda v: (v not in order, _index(order, v), v))
    return [group(v, [r for r in faults if key(r) == v]) for v in values]


def _index(order: Sequence[str], value: str) -> int:
    return order.index(value) if value in order else len(order)


@dataclass(frozen=True, slots=True)
class Quiet:
    """False incidents in the fault-free runs, and the rate the target bounds."""

    runs: int
    incidents: int
    hours: float
    service_hours: float  # simulated hours x services, summed over runs

    @property
    def per_day_per_10(self) -> float | None:
        """count / hours x 24 / (services / 10), pooled: total count over total service-hours."""
        return self.incidents * 24 * 10 / self.service_hours if self.service_hours else None


def quiet(runs: Iterable[CaseResult]) -> Quiet:
    done = [r for r in runs if r.error is None]
    return Quiet(
        runs=len(done),
        incidents=sum(len(r.false_incidents) for r in done),
        hours=sum(r.hours for r in done),
        service_hours=sum(r.hours * r.services for r in done),
    )


def targets(overall: Group, kinds: Sequence[Group], free: Quiet) -> list[Goal]:
    """The issue's targets, met or missed (reported, never asserted); no data misses them."""
    engine = overall.methods["engine"]
    worst = min((k.methods["engine"].ac1 for k in kinds), default=0.0)
    ttd = overall.ttd_median_windows
    rate = free.per_day_per_10
    return [
        Goal("AC@1", engine.ac1, 0.90),
        Goal("AC@3", engine.ac3, 0.98),
        Goal("lowest AC@1 of a fault kind", worst, 0.75),
        Goal("detection rate", overall.detection, 0.98),
        Goal("median TTD (windows)", float("inf") if ttd is None else ttd, 2.0, at_most=True),
        Goal(
            "false incidents per 24 h per 10 services",
            float("inf") if rate is None else rate,
            1.0,
            at_most=True,
        ),
    ]


KINDS = ("latency", "cpu", "network", "http_error", "exception", "kill", "db_slow")
SIZES = ("small", "medium", "large")
SPLITS = ("tune", "holdout")


@dataclass(frozen=True, slots=True)
class Summary:
    overall: Group
    by_kind: list[Group]
    by_size: list[Group]
    by_split: list[Group]
    by_topology: list[Group]
    fault_free: Quiet  # the fault-free runs
    in_cases: Quiet  # incidents opened outside the fault windows of the fault cases
    targets: list[Goal]
    failed: list[CaseResult]


def summarise(results: Sequence[CaseResult]) -> Summary:
    faults = rows(results)
    by_kind = grouped(faults, lambda r: r.fault.kind, KINDS)
    free = quiet(r for r in results if r.fault_free)
    overall = group("all", faults)
    return Summary(
        overall=overall,
        by_kind=by_kind,
        by_size=grouped(faults, lambda r: r.size, SIZES),
        by_split=grouped(faults, lambda r: r.split, SPLITS),
        by_topology=grouped(faults, lambda r: r.topology, ()),
        fault_free=free,
        in_cases=quiet(r for r in results if not r.fault_free),
        targets=targets(overall, by_kind, free),
        failed=[r for r in results if r.error is not None],
    )
