"""Helpers over generated records: scenarios with one chosen fault, and spans picked out of them."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta

from aiops_engine.rows import SpanRecord
from aiops_simulate import FaultKind, InjectedFault, Scenario, generate

T0 = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)
BEFORE_S, FAULT_S = 90.0, 90.0  # steady traffic, then the fault to the end


def with_fault(
    kind: FaultKind,
    service: str,
    endpoint: str | None = None,
    *,
    magnitude: float = 1.0,
    share: float = 1.0,
    ramp_s: float = 0.0,
    topology: str = "shop10",
    seed: int = 5,
    after_s: float = 0.0,
) -> tuple[Scenario, list[SpanRecord]]:
    """`BEFORE_S` of steady shop traffic, `FAULT_S` with the fault, `after_s` without; and
    its records."""
    fault = InjectedFault(
        kind, service, endpoint, at(BEFORE_S), at(BEFORE_S + FAULT_S), share, ramp_s, magnitude
    )
    duration = BEFORE_S + FAULT_S + after_s
    scenario = Scenario(seed, topology, T0, duration, "steady", (fault,))
    return scenario, records(scenario)


def records(scenario: Scenario) -> list[SpanRecord]:
    return [record for batch in generate(scenario) for record in batch]


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


Match = Callable[[SpanRecord], bool]


def server(service: str, endpoint: str | None = None) -> Match:
    return lambda r: r[10] == "server" and r[1] == service and endpoint in (None, r[2])


def client(caller: str | None, callee: str, endpoint: str | None = None) -> Match:
    return lambda r: (
        r[10] == "client"
        and r[11] == callee
        and caller in (None, r[1])
        and endpoint in (None, r[2])
    )


def before(spans: Iterable[SpanRecord], match: Match) -> list[SpanRecord]:
    """Matching spans of the fault-free part (a second of margin for clock skew)."""
    return [r for r in spans if match(r) and r[0] < at(BEFORE_S - 1)]


def during(spans: Iterable[SpanRecord], match: Match) -> list[SpanRecord]:
    end = at(BEFORE_S + FAULT_S)
    return [r for r in spans if match(r) and at(BEFORE_S + 1) <= r[0] < end]


def after(spans: Iterable[SpanRecord], match: Match) -> list[SpanRecord]:
    return [r for r in spans if match(r) and r[0] >= at(BEFORE_S + FAULT_S + 1)]


def median_ms(spans: Sequence[SpanRecord]) -> float:
    assert len(spans) >= 20, f"too few spans to compare: {len(spans)}"
    return statistics.median(r[5] for r in spans)


def slowdown(spans: Sequence[SpanRecord], match: Match) -> float:
    """Median latency during the fault over the median before it."""
    return median_ms(during(spans, match)) / median_ms(before(spans, match))
