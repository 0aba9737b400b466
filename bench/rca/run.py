"""One case: simulated spans through the analyzer's replay, scored, and the rankers beside it.

Runs in a worker process (`run`, which never raises: a failure is a result
with its error) or in-process for `--show` (`replay_scenario`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiops_engine.incidents import Incident
from aiops_engine.incidents.book import Touch
from aiops_engine.replay import (
    Fault,
    FaultScore,
    Replay,
    ReplayConfig,
    WindowResult,
    score,
    service_ranking,
)
from aiops_simulate import (
    InjectedFault,
    Scenario,
    generate,
    plan_case,
    plan_fault_free,
    plan_seasonal,
)

from .corpus import Case, FaultFree, Item, Seasonal
from .rankers import Observer
from .results import GRACE_S, CaseResult, FalseIncident, FaultResult
from .seasonal import SeasonalResult, classify, failed_seasonal

Result = CaseResult | SeasonalResult


def fault_of(entry: Mapping[str, Any]) -> Fault:
    """A truth-file entry (`Scenario.truth()`) as the scorecard's Fault.

    The rules of `aiops replay --truth` (aiops_cli.replay.options.load_truth),
    for entries already in memory: ISO 8601 (no zone: UTC) or Unix seconds.
    """

    def moment(value: Any) -> datetime:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return datetime.fromtimestamp(value, UTC)
        at = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        return at if at.tzinfo else at.replace(tzinfo=UTC)

    start, end = moment(entry["start"]), moment(entry["end"])
    if end < start:
        raise ValueError(f"a fault ends before it starts: {entry}")
    endpoint, kind = entry.get("endpoint"), entry.get("kind")
    return Fault(
        start, end, str(entry["service"]), None if endpoint is None else str(endpoint), kind
    )


def scenario_of(item: Item) -> Scenario:
    if isinstance(item, Seasonal):
        return plan_seasonal(
            item.seed, item.topology, item.days, traffic=item.traffic, rate_scale=item.rate_scale
        )
    if isinstance(item, FaultFree):
        return plan_fault_free(item.seed, item.topology, item.hours, traffic=item.traffic)
    return plan_case(
        item.seed,
        item.topology,
        list(item.kinds),
        warmup_s=item.warmup_s,
        fault_s=item.fault_s,
        tail_s=item.tail_s,
        partial=item.partial,
        ramp=item.ramp,
    )


@dataclass
class Replayed:
    """A scenario after the replay: its engine state, the rankers' view, what incidents said."""

    replay: Replay
    observer: Observer = field(default_factory=Observer)
    touches: list[Touch] = field(default_factory=list)


def replay_scenario(
    scenario: Scenario, on_window: Callable[[WindowResult, Observer], None] | None = None
) -> Replayed:
    """Every batch through a default `Replay` (exactly the live analyzer's settings)."""
    done = Replayed(Replay(ReplayConfig()))

    def judged(results: Sequence[WindowResult]) -> None:
        for result in results:
            if on_window is not None:
                on_window(result, done.observer)  # before the rankers learn the window
            done.observer.observe(result.now, result.windows, result.anomalies)
            done.touches.extend(result.touches)

    for batch in generate(scenario):
        judged(done.replay.feed(batch))
    judged(done.replay.finish())
    return done


def run(item: Item) -> Result:
    """`item` run and scored; never raises (a failure is a result with `error`)."""
    began = time.perf_counter()
    try:
        return _run_seasonal(item, began) if isinstance(item, Seasonal) else _run(item, began)
    except Exception as exc:  # one broken case must not stop the benchmark
        return failed(item, f"{type(exc).__name__}: {exc}", time.perf_counter() - began)


@dataclass(frozen=True, slots=True)
class Scored:
    """A scenario replayed and scored: what every kind of run reports from."""

    scenario: Scenario
    done: Replayed
    faults: list[FaultResult]  # scenario.faults', in order
    false_incidents: list[FalseIncident]


def scored(item: Item) -> Scored:
    scenario = scenario_of(item)
    faults = [fault_of(entry) for entry in scenario.truth()]
    done = replay_scenario(scenario)
    card = score(faults, done.touches, duration_s=scenario.duration_s, grace_s=GRACE_S)
    edges = list(done.replay.state.graph.edges)
    results = [
        fault_result(s, injected, done, edges)
        for s, injected in zip(card.per_fault, scenario.faults, strict=True)
    ]
    return Scored(scenario, done, results, false_incidents(faults, done.touches))


def _run(item: Case | FaultFree, began: float) -> CaseResult:
    got = scored(item)
    case = item if isinstance(item, Case) else None
    return CaseResult(
        id=item.id,
        split=item.split,
        topology=item.topology,
        services=len(got.scenario.services()),
        kinds=list(case.kinds) if case else [],
        partial=case.partial if case else False,
        ramp=case.ramp if case else False,
        fault_free=case is None,
        faults=got.faults,
        false_incidents=got.false_incidents,
        spans=got.done.replay.counts.spans,
        windows=got.done.replay.counts.windows,
        simulated_s=got.scenario.duration_s,
        wall_s=round(time.perf_counter() - began, 3),
    )


def _run_seasonal(item: Seasonal, began: float) -> SeasonalResult:
    """Scored as a case is; its false incidents split into the routine's, day by day, and
    the others."""
    got = scored(item)
    split = classify(got.false_incidents, [(r.start, r.end) for r in got.scenario.routine])
    return SeasonalResult(
        id=item.id,
        split=item.split,
        topology=item.topology,
        days=item.days,
        services=len(got.scenario.services()),
        routine_incidents_by_day=split.by_day,
        fault=got.faults[0] if got.faults else None,  # the planner's one last-day fault
        routine_incidents=split.routine,
        other_false_incidents=split.other,
        spans=got.done.replay.counts.spans,
        windows=got.done.replay.counts.windows,
        simulated_s=got.scenario.duration_s,
        wall_s=round(time.perf_counter() - began, 3),
    )


def fault_result(
    scored: FaultScore, injected: InjectedFault, done: Replayed, edges: list[tuple[str, str]]
) -> FaultResult:
    fault = scored.fault
    end = fault.end + timedelta(seconds=GRACE_S)
    named: dict[str, list[str]] = {"engine": engine_ranking(fault, done.touches)}
    if scored.detected_at is None:  # detection is shared: a miss for every ranker too
        named |= {"growth": [], "pagerank": []}
    else:
        named["growth"] = done.observer.by_growth(fault.start, end)
        named["pagerank"] = done.observer.by_pagerank(fault.start, end, edges)
    ranks = {m: _rank(fault.service, names) for m, names in named.items()}
    ranks["engine"] = scored.rank  # the scorecard's, by definition
    return FaultResult(
        service=fault.service,
        endpoint=fault.endpoint,
        kind=fault.kind or "unknown",
        start=fault.start.isoformat(),
        end=fault.end.isoformat(),
        detected=scored.detected_at is not None,
        ttd_s=scored.ttd_s,
        ranks=ranks,
        top3={m: names[:3] for m, names in named.items()},
        share=injected.share,
        magnitude=injected.magnitude,
        ramp_s=injected.ramp_s,
    )


def _rank(service: str, names: Sequence[str]) -> int | None:
    return names.index(service) + 1 if service in names else None


def engine_ranking(fault: Fault, touches: Sequence[Touch]) -> list[str]:
    """The services named by the incident that ranks `fault` best (else the first to speak)."""
    end = fault.end + timedelta(seconds=GRACE_S)
    latest: dict[str, Incident] = {}
    for touch in sorted(touches, key=lambda t: t.at):
        if fault.start <= touch.at <= end:
            latest[touch.incident.id] = touch.incident
    rankings = [service_ranking(incident) for incident in latest.values()]
    if not rankings:
        return []
    best = [r for r in rankings if fault.service in r]
    return min(best, key=lambda r: r.index(fault.service)) if best else rankings[0]


def false_incidents(faults: Sequence[Fault], touches: Sequence[Touch]) -> list[FalseIncident]:
    """Incidents opened or reopened outside every fault's window (the scorecard's count)."""
    grace = timedelta(seconds=GRACE_S)
    return [
        FalseIncident(
            incident=t.incident.id,
            at=t.at.isoformat(),
            root_cause=str(t.incident.root_cause),
            candidates=service_ranking(t.incident)[1:],
            explanation=t.incident.explanation,
        )
        for t in sorted(touches, key=lambda t: t.at)
        if t.opened and not any(f.start <= t.at <= f.end + grace for f in faults)
    ]


def failed(item: Item, error: str, wall_s: float = 0.0) -> Result:
    if isinstance(item, Seasonal):
        return failed_seasonal(item, error, wall_s)
    case = item if isinstance(item, Case) else None
    return CaseResult(
        id=item.id,
        split=item.split,
        topology=item.topology,
        services=0,
        kinds=list(case.kinds) if case else [],
        partial=case.partial if case else False,
        ramp=case.ramp if case else False,
        fault_free=case is None,
        faults=[],
        false_incidents=[],
        spans=0,
        windows=0,
        simulated_s=0.0,
        wall_s=round(wall_s, 3),
        error=error,
    )
