"""plan_case: faults where they would show, on different services, overlapping; truth to match."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from aiops_simulate import TOPOLOGIES, FaultKind, InjectedFault, Scenario, plan_case
from aiops_simulate.planning import FALLBACK, MIN_RATE, targets
from aiops_simulate.topology import CONSUMER

START = datetime(2025, 3, 3, 14, 0, tzinfo=UTC)


@pytest.mark.parametrize("topology", sorted(TOPOLOGIES))
@pytest.mark.parametrize("kind", [kind.value for kind in FaultKind])
def test_every_kind_can_be_planned_on_every_topology_with_truth_naming_where(
    topology: str, kind: str
) -> None:
    if kind == "drop" and CONSUMER not in TOPOLOGIES[topology].compiled.kind:
        with pytest.raises(ValueError, match="nowhere left to inject a drop"):
            plan_case(7, topology, [kind], start=START)
        return  # a system without queue consumers has no messages to lose
    scenario = plan_case(7, topology, [kind], start=START)
    [fault] = scenario.faults
    assert fault.kind == kind
    assert scenario.truth() == [fault.truth()]
    truth = fault.truth()
    assert truth["kind"] == kind
    assert truth["service"] == fault.service
    assert datetime.fromisoformat(truth["start"]) == START + timedelta(seconds=600)
    assert 120 <= fault.duration_s <= 300
    assert scenario.duration_s == 600 + fault.duration_s + 120
    system = TOPOLOGIES[topology]
    if kind == "db_slow":
        assert fault.service in system.databases
    else:
        assert fault.service not in (*system.databases, *system.caches)
    compiled = system.compiled
    if fault.endpoint is None:
        assert kind in ("cpu", "network", "kill", "drop")
    else:
        routes = {compiled.route[op] for op in compiled.ops_of(fault.service)}
        assert fault.endpoint in routes


def test_a_target_sees_at_least_one_affected_request_a_second_or_is_among_the_busiest() -> None:
    """Partial faults (10-30% of requests) go where 10-30% still makes a request a second;
    where no place is that busy, to one of the busiest."""
    compiled = TOPOLOGIES["shop10"].compiled
    rates = {(s, e): rate for s, e, rate, _ in targets(compiled, FaultKind.EXCEPTION)}
    busiest = sorted(rates.values(), reverse=True)[:FALLBACK]
    for seed in range(20):
        scenario = plan_case(seed, "shop10", ["exception"], partial=True, traffic="steady")
        [fault] = scenario.faults
        assert 0.1 <= fault.share <= 0.3
        rate = rates[(fault.service, fault.endpoint)]
        busy_enough = rate * fault.share >= MIN_RATE
        assert busy_enough or rate in busiest
        if max(rates.values()) * fault.share >= MIN_RATE:
            assert busy_enough


def test_two_kinds_are_two_overlapping_faults_on_different_services() -> None:
    for seed in range(10):
        scenario = plan_case(seed, "system40", ["latency", "kill"], ramp=True)
        first, second = scenario.faults
        assert first.service != second.service
        assert first.start <= second.start < first.end
        assert 0.6 * first.duration_s <= first.ramp_s <= 0.9 * first.duration_s
        assert [f["kind"] for f in scenario.truth()] == ["latency", "kill"]


def test_plans_are_deterministic_in_every_argument() -> None:
    base = plan_case(3, "diamond12", ["cpu"])
    assert plan_case(3, "diamond12", ["cpu"]) == base
    assert plan_case(3, "diamond12", ("cpu",), warmup_s=600.0) == base
    assert plan_case(3, "diamond12", ["cpu"], tail_s=60) != base
    assert plan_case(3, "diamond12", ["cpu"], fault_s=200).faults[0].duration_s == 200


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: plan_case(1, "nope", ["latency"]), "unknown topology 'nope'"),
        (lambda: plan_case(1, "shop10", ["slow"]), "unknown fault kind 'slow'"),
        (lambda: plan_case(1, "shop10", []), "at least one fault kind"),
        (lambda: plan_case(1, "shop10", ["cpu"], traffic="flat"), "unknown traffic 'flat'"),
    ],
)
def test_bad_arguments_are_refused_with_what_is_known(
    call: Callable[[], object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        call()


def test_a_fault_on_a_service_the_topology_lacks_is_refused() -> None:
    fault = InjectedFault(FaultKind.KILL, "nope", None, START, START + timedelta(seconds=60))
    with pytest.raises(ValueError, match="no service 'nope'"):
        Scenario(1, "shop10", START, 120, "steady", (fault,))
