"""Planning labelled cases: which faults, where, how strong, and when.

A case is deterministic in its arguments: every draw comes from one
random.Random seeded with a stable hash of them all. The fault starts
`warmup_s` after the scenario (time for baselines), lasts `fault_s` (else
120-300 s), and the scenario runs `tail_s` past the last fault's end. A
second fault starts within the first third of the first one, so they
overlap, on a different service.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from .faults import ENDPOINT_KINDS, MAGNITUDES, FaultKind, InjectedFault
from .scenario import Scenario
from .topologies import TOPOLOGIES
from .topology import CONSUMER, HTTP, QUERY, Compiled, Topology
from .traffic import SHAPES, Traffic, stable_seed

DEFAULT_START = datetime(2025, 3, 3, tzinfo=UTC)  # a Monday, midnight
FAULT_S = (120.0, 300.0)
MIN_RATE = 1.0  # affected requests per second a target needs for its fault to show
MIN_EFFECT_MS = 50.0  # ... and a slowdown must add at least this to a typical request (less
# is below what anyone would page for, and public fault datasets inject 100s of ms)
FALLBACK = 3  # when no target is busy enough: one of the busiest this many
SLOWDOWNS = frozenset({FaultKind.LATENCY, FaultKind.CPU, FaultKind.DB_SLOW})


def plan_case(
    seed: int,
    topology: str,
    kinds: Sequence[str],
    *,
    warmup_s: float = 600,
    fault_s: float | None = None,
    tail_s: float = 120,
    partial: bool = False,
    ramp: bool = False,
    traffic: str = "bursty",
    start: datetime | None = None,
) -> Scenario:
    """A scenario with one fault per kind in `kinds`, overlapping, each on its own service."""
    system = _system(topology, traffic)
    faults_kinds = [_kind(kind) for kind in kinds]
    if not faults_kinds:
        raise ValueError("a case needs at least one fault kind (plan_fault_free plans none)")
    if not (math.isfinite(warmup_s) and warmup_s >= 0 and math.isfinite(tail_s) and tail_s >= 0):
        raise ValueError("warmup_s and tail_s must be >= 0")
    if fault_s is not None and not (math.isfinite(fault_s) and fault_s > 0):
        raise ValueError(f"fault_s must be > 0, not {fault_s}")
    # Numbers as floats: 300 and 300.0 are the same argument, and plan the same case.
    given = (float(warmup_s), None if fault_s is None else float(fault_s), float(tail_s))
    moment = start.isoformat() if start else None
    kinds_given = [k.value for k in faults_kinds]
    rng = random.Random(
        stable_seed(seed, topology, kinds_given, *given, partial, ramp, traffic, moment)
    )
    if start is None:  # faults meet the system at any hour of its day
        start = DEFAULT_START + timedelta(minutes=rng.randrange(24 * 60))
    load = Traffic(traffic, start, seed)
    faults: list[InjectedFault] = []
    first_s = 0.0
    for kind in faults_kinds:
        length = fault_s if fault_s is not None else float(round(rng.uniform(*FAULT_S)))
        offset = float(round(rng.uniform(0, first_s / 3))) if faults else 0.0
        first_s = first_s or length
        share = _share(kind, partial, rng)
        begin = warmup_s + offset
        level = load.mean(begin, begin + length)
        taken = {fault.service for fault in faults}
        service, endpoint, own_ms = _target(system, kind, share * level, taken, rng)
        _, low, high = MAGNITUDES[kind]
        if kind in SLOWDOWNS:  # at least enough to add MIN_EFFECT_MS to the own time
            low = min(high, max(low, 1 + MIN_EFFECT_MS / own_ms))
        magnitude = _round(math.exp(rng.uniform(math.log(low), math.log(high))))
        faults.append(
            InjectedFault(
                kind=kind,
                service=service,
                endpoint=endpoint,
                start=start + timedelta(seconds=begin),
                end=start + timedelta(seconds=begin + length),
                share=share,
                ramp_s=float(round(rng.uniform(0.6, 0.9) * length)) if ramp else 0.0,
                magnitude=magnitude,
            )
        )
    last = max((f.end - start).total_seconds() for f in faults)
    return Scenario(seed, topology, start, last + tail_s, traffic, tuple(faults))


def plan_fault_free(
    seed: int,
    topology: str,
    hours: float,
    *,
    traffic: str = "diurnal",
    start: datetime | None = None,
) -> Scenario:
    """`hours` of the topology's traffic with no fault: what false incidents are measured on."""
    _system(topology, traffic)
    if not (math.isfinite(hours) and hours > 0):
        raise ValueError(f"hours must be > 0, not {hours}")
    return Scenario(seed, topology, start or DEFAULT_START, hours * 3600, traffic, ())


def _system(topology: str, traffic: str) -> Topology:
    if topology not in TOPOLOGIES:
        raise ValueError(f"unknown topology {topology!r}: one of {', '.join(TOPOLOGIES)}")
    if traffic not in SHAPES:
        raise ValueError(f"unknown traffic {traffic!r}: one of {', '.join(SHAPES)}")
    return TOPOLOGIES[topology]


def _kind(kind: str) -> FaultKind:
    try:
        return FaultKind(kind)
    except ValueError:
        known = ", ".join(k.value for k in FaultKind)
        raise ValueError(f"unknown fault kind {kind!r}: one of {known}") from None


def _share(kind: FaultKind, partial: bool, rng: random.Random) -> float:
    if kind is FaultKind.DROP:  # most replicas gone: a drop, not a silence
        return round(rng.uniform(0.5, 0.9), 2)
    if partial:
        return round(rng.uniform(0.1, 0.3), 2)
    if kind in (FaultKind.HTTP_ERROR, FaultKind.EXCEPTION) and rng.random() < 0.5:
        return round(rng.uniform(0.5, 1.0), 2)
    return 1.0


def _round(value: float) -> float:
    """Two significant digits: magnitudes people can read in a report."""
    return float(f"{value:.2g}")


def _target(
    system: Topology, kind: FaultKind, share: float, taken: set[str], rng: random.Random
) -> tuple[str, str | None, float]:
    """(service, endpoint, own ms) for the fault, among the places it would show on; `share`
    is the share of requests hit times the load the fault meets."""
    found = [t for t in targets(system.compiled, kind) if t[0] not in taken]
    if not found:
        raise ValueError(f"{system.name} has nowhere left to inject a {kind.value} fault")
    _, _, high = MAGNITUDES[kind]
    showing = [t for t in found if kind not in SLOWDOWNS or t[3] * (high - 1) >= MIN_EFFECT_MS]
    busy = [t for t in showing if t[2] * share >= MIN_RATE]
    if not busy:  # a quiet system: the busiest places will have to do
        busy = sorted(showing or found, key=lambda t: -t[2])[:FALLBACK]
    service, endpoint, _, own_ms = rng.choice(busy)
    return service, endpoint, own_ms


def targets(c: Compiled, kind: FaultKind) -> list[tuple[str, str | None, float, float]]:
    """(service, endpoint, requests/s at load 1, longest median own ms) a `kind` fault can hit."""
    places: dict[tuple[str, str | None], list[int]] = {}
    for op, op_kind in enumerate(c.kind):
        if kind is FaultKind.DB_SLOW:
            fits = op_kind == QUERY
        elif kind is FaultKind.HTTP_ERROR:
            fits = op_kind == HTTP
        elif kind is FaultKind.DROP:
            fits = op_kind == CONSUMER
        elif kind in (FaultKind.NETWORK, FaultKind.KILL):
            fits = op_kind == HTTP and bool(c.callers[op])  # someone calls it: the fault shows
        else:
            fits = op_kind in (HTTP, CONSUMER)
        if fits:
            endpoint = c.route[op] if kind in ENDPOINT_KINDS else None
            places.setdefault((c.service[op], endpoint), []).append(op)
    return [
        (service, endpoint, sum(c.op_rate[op] for op in ops), max(c.median[op] for op in ops))
        for (service, endpoint), ops in places.items()
    ]
