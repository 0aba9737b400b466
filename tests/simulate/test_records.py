"""Generated records are well-formed, in time order, and the same for the same scenario."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime

from hypothesis import given, reject, settings
from hypothesis import strategies as st

from aiops_engine.rows import FIELDS, SpanRecord
from aiops_simulate import TOPOLOGIES, FaultKind, Scenario, plan_case, plan_fault_free
from aiops_simulate.topology import CONSUMER

from .spans import records

HEX32, HEX16 = re.compile(r"^[0-9a-f]{32}$"), re.compile(r"^[0-9a-f]{16}$")
KINDS = [kind.value for kind in FaultKind]


def small_case(seed: int, topology: str, kinds: list[str], partial: bool, ramp: bool) -> Scenario:
    return plan_case(
        seed, topology, kinds, warmup_s=20, fault_s=15, tail_s=5, partial=partial, ramp=ramp,
        start=datetime(2025, 3, 3, 9, 30, tzinfo=UTC),
    )  # fmt: skip


def assert_well_formed(scenario: Scenario, spans: list[SpanRecord]) -> None:
    services = set(scenario.services())
    ids: dict[str, set[str]] = {}
    for record in spans:
        assert len(record) == len(FIELDS)
        ids.setdefault(record[7], set()).add(record[8])
    previous = scenario.start
    for record in spans:
        at, service, endpoint, method, status, latency = record[:6]
        trace, span, parent, kind, peer, error_kind, attributes = record[7:]
        assert scenario.start <= at < scenario.end
        assert at >= previous, "records come in timestamp order"
        previous = at
        assert service in services
        assert endpoint
        assert HEX32.match(trace)
        assert HEX16.match(span)
        assert parent is None or parent in ids[trace]
        assert math.isfinite(latency)
        assert latency >= 0
        assert kind in ("server", "client", "internal")
        assert status is None or 100 <= status <= 599
        assert (peer is not None) == (kind == "client")
        if kind == "client" and status is None and method not in ("SQL", ""):
            assert error_kind in ("timeout", "connection_refused"), "no answer says why"
        if error_kind is not None:
            assert record[6], "a failure carries its message"
        assert attributes is None or attributes.startswith("{")
    assert sum(len(spans) for spans in ids.values()) == len(spans), "span ids are unique"


@settings(max_examples=20, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    topology=st.sampled_from(sorted(TOPOLOGIES)),
    kinds=st.lists(st.sampled_from(KINDS), min_size=1, max_size=2),
    partial=st.booleans(),
    ramp=st.booleans(),
)
def test_every_generated_record_is_well_formed_and_in_time_order(
    seed: int, topology: str, kinds: list[str], partial: bool, ramp: bool
) -> None:
    compiled = TOPOLOGIES[topology].compiled
    if "drop" in kinds and CONSUMER not in compiled.kind:
        reject()  # no queue consumer: no messages to lose
    scenario = small_case(seed, topology, kinds, partial, ramp)
    spans = records(scenario)
    assert spans
    assert_well_formed(scenario, spans)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**32), topology=st.sampled_from(sorted(TOPOLOGIES)))
def test_the_same_scenario_gives_the_same_records_ids_included(seed: int, topology: str) -> None:
    scenario = small_case(seed, topology, ["latency"], False, False)
    again = small_case(seed, topology, ["latency"], False, False)
    assert again == scenario
    assert records(again) == records(scenario)


def test_another_seed_gives_other_records_and_another_plan() -> None:
    one, two = (small_case(seed, "shop10", ["kill"], False, False) for seed in (1, 2))
    assert one.faults != two.faults
    first, second = records(one), records(two)
    assert {r[7] for r in first}.isdisjoint({r[7] for r in second})
    assert [r[5] for r in first[:100]] != [r[5] for r in second[:100]]


def test_a_fault_free_scenario_is_long_as_asked_and_has_no_truth() -> None:
    scenario = plan_fault_free(3, "chain6", 0.05, traffic="bursty")
    assert scenario.duration_s == 180
    assert scenario.faults == ()
    assert scenario.truth() == []
    assert_well_formed(scenario, records(scenario))
