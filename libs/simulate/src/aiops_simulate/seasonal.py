"""Days of a system with a daily habit: what seasonality is measured on.

Every night at 02:20 a batch job slows the system's busiest database query
`ROUTINE_FACTOR` times for 40 minutes, into the next hour: the same every
day, so after a few days it is the system's normal at that hour, not a
fault (the scenario's `routine`, not in its truth). On the last day, at
14:00, one real fault: a latency fault on an endpoint of another service,
which the habit must not hide.
"""

from __future__ import annotations

import math
import random
from datetime import timedelta

from .faults import FaultKind, InjectedFault
from .planning import DEFAULT_START, MIN_EFFECT_MS, MIN_RATE, _round, _system, targets
from .scenario import Scenario
from .traffic import stable_seed

ROUTINE_AT = timedelta(hours=2, minutes=20)
ROUTINE_S = 40 * 60.0
ROUTINE_FACTOR = 4.0
FAULT_AT = timedelta(hours=14)
FAULT_S = 300.0
FAULT_FACTOR = (3.0, 20.0)


def plan_seasonal(
    seed: int, topology: str, days: int, *, traffic: str = "diurnal", rate_scale: float = 0.25
) -> Scenario:
    """`days` days from a Monday's midnight: the nightly routine each day, one fault on the
    last day at 14:00."""
    if days < 1:
        raise ValueError(f"days must be >= 1, not {days}")
    system = _system(topology, traffic)
    compiled = system.compiled
    rng = random.Random(stable_seed(seed, topology, days, traffic, rate_scale, "seasonal"))
    queries = targets(compiled, FaultKind.DB_SLOW)
    if not queries:
        raise ValueError(f"{topology} has no database query for a nightly routine")
    database, query, _, query_ms = max(queries, key=lambda t: (t[2], t[0], t[1] or ""))
    factor = max(ROUTINE_FACTOR, 1 + MIN_EFFECT_MS / query_ms)
    day = timedelta(days=1)
    routine = tuple(
        InjectedFault(
            kind=FaultKind.DB_SLOW,
            service=database,
            endpoint=query,
            start=DEFAULT_START + n * day + ROUTINE_AT,
            end=DEFAULT_START + n * day + ROUTINE_AT + timedelta(seconds=ROUTINE_S),
            magnitude=_round(factor),
        )
        for n in range(days)
    )
    places = [
        t
        for t in targets(compiled, FaultKind.LATENCY)
        if t[2] * rate_scale >= MIN_RATE and t[3] * (FAULT_FACTOR[1] - 1) >= MIN_EFFECT_MS
    ]
    if not places:
        raise ValueError(f"{topology} has no endpoint busy enough for the last day's fault")
    service, endpoint, _, own_ms = rng.choice(sorted(places, key=lambda t: (t[0], t[1] or "")))
    low = min(FAULT_FACTOR[1], max(FAULT_FACTOR[0], 1 + MIN_EFFECT_MS / own_ms))
    begin = DEFAULT_START + (days - 1) * day + FAULT_AT
    fault = InjectedFault(
        kind=FaultKind.LATENCY,
        service=service,
        endpoint=endpoint,
        start=begin,
        end=begin + timedelta(seconds=FAULT_S),
        magnitude=_round(math.exp(rng.uniform(math.log(low), math.log(FAULT_FACTOR[1])))),
    )
    return Scenario(
        seed,
        topology,
        DEFAULT_START,
        days * 86400.0,
        traffic,
        (fault,),
        rate_scale=rate_scale,
        routine=routine,
    )
