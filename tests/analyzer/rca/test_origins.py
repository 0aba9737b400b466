"""Where one trace's trouble starts: the bad spans with nothing bad below them."""

from __future__ import annotations

import dataclasses
import math
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aiops_engine.detection import (
    AnomalyType,
    Baseline,
    DetectionConfig,
    SeriesKey,
    span_thresholds,
)
from aiops_engine.rca import (
    DATABASE,
    Blame,
    Span,
    Suspect,
    build_trees,
    find_origins,
    is_bad,
    relevant_origins,
    span_key,
)

from .spans import (
    CHECKOUT,
    CHECKOUT_TO_PAYMENT,
    INVENTORY,
    PAYMENT,
    SLOW_MS,
    T0,
    anomaly,
    client,
    query,
    server,
    shop_trace,
)


def origins_of(spans: list[Span], slow_ms: dict[SeriesKey, float] | None = None) -> list[str]:
    """`suspect blame` for each origin of a trace, in tree order."""
    found = find_origins(build_trees(spans), SLOW_MS if slow_ms is None else slow_ms)
    return [f"{o.suspect} {o.blame}" for o in found]


def test_a_failing_callee_is_the_origin_not_its_failing_callers() -> None:
    """payment 500 → checkout's call and checkout fail too: the trouble starts at payment."""
    assert origins_of(shop_trace("T", payment_status=500)) == ["payment /payment failed"]


def test_a_healthy_trace_has_no_origin() -> None:
    """Nothing failed, nothing slow: nothing to blame."""
    assert origins_of(shop_trace("T")) == []


def test_a_slow_callee_is_the_origin_not_its_slow_callers() -> None:
    """A 2 s payment makes checkout's call and checkout slow too: payment is where it starts."""
    assert origins_of(shop_trace("T", payment_ms=2000.0)) == ["payment /payment slow"]


def test_a_span_slow_by_its_own_time_is_an_origin_though_a_callee_is_slow_too() -> None:
    """checkout takes 3 s with a 150 ms payment (slow past its 100 ms bar, +130 ms on its
    usual 20): checkout's own time grew, so it is an origin beside payment; without the
    typical latencies, only the deepest bad span is."""
    spans = shop_trace("T", payment_ms=150.0)
    checkout = spans[0]
    spans[0] = dataclasses.replace(checkout, latency_ms=checkout.latency_ms + 3000.0)
    typical = dict.fromkeys(SLOW_MS, 20.0)
    found = find_origins(build_trees(spans), SLOW_MS, typical)
    assert [f"{o.suspect} {o.blame}" for o in found] == [
        "checkout /checkout slow",
        "payment /payment slow",
    ]
    assert origins_of(spans) == ["payment /payment slow"]


def test_a_slow_caller_explained_by_its_slow_callee_is_no_origin() -> None:
    """A 2 s payment under a checkout 2 s slower: the callee's delay explains the caller's."""
    typical = dict.fromkeys(SLOW_MS, 20.0)
    found = find_origins(build_trees(shop_trace("T", payment_ms=2000.0)), SLOW_MS, typical)
    assert [f"{o.suspect} {o.blame}" for o in found] == ["payment /payment slow"]


def test_a_span_is_never_slow_without_a_threshold_for_its_key() -> None:
    """Without an established baseline nothing is slow, however long it took."""
    assert origins_of(shop_trace("T", payment_ms=2000.0), slow_ms={}) == []


def test_a_slow_call_to_a_callee_without_a_baseline_blames_the_callee() -> None:
    """Only the edge has a threshold: the call is the origin, and it names payment /payment."""
    spans = shop_trace("T", payment_ms=2000.0)
    assert origins_of(spans, slow_ms={CHECKOUT_TO_PAYMENT: 100.0}) == ["payment /payment slow"]


def test_a_call_nobody_answered_blames_the_callee() -> None:
    """Connection refused and no payment span: payment did not answer."""
    spans = shop_trace("T", payment_down="connection_refused", calls_inventory=False)
    [origin] = find_origins(build_trees(spans), SLOW_MS)
    assert (origin.suspect, origin.blame) == (Suspect("payment", "/payment"), Blame.NO_ANSWER)
    assert origin.span.error_kind == "connection_refused"


def test_a_call_answered_with_an_error_by_a_lost_span_is_a_failure_not_silence() -> None:
    """A 503 got back means payment answered, even if its own span row is missing."""
    spans = [s for s in shop_trace("T", payment_status=503) if s.span_id != "T-payment"]
    assert origins_of(spans) == ["payment /payment failed"]


def test_a_failing_query_blames_the_database() -> None:
    """inventory fails because its query did: the database is the origin."""
    assert origins_of(shop_trace("T", query_error="db_error")) == [f"{DATABASE} database"]


def test_independent_troubles_in_one_trace_are_all_origins_in_tree_order() -> None:
    """payment slow and inventory failing in one request: two origins, payment's call first."""
    spans = shop_trace("T", payment_ms=2000.0, inventory_status=500)
    assert origins_of(spans) == ["payment /payment slow", "inventory /inventory/reserve failed"]


def test_clock_skew_does_not_move_the_origin() -> None:
    """payment's clock an hour early or late: still payment, as the tree decides, not time."""
    for skew in (-3_600_000.0, 3_600_000.0):
        spans = shop_trace("T", payment_status=500, payment_skew_ms=skew)
        assert origins_of(spans) == ["payment /payment failed"]


def test_span_keys_are_the_window_query_series() -> None:
    """Server spans count under their endpoint, client spans under caller → callee."""
    assert span_key(server("T", "s", "payment", "/payment")) == PAYMENT
    call = client("T", "c", "checkout", "payment", "/payment", parent=None)
    assert span_key(call) == CHECKOUT_TO_PAYMENT
    assert span_key(query("T", "q", "inventory", parent="s")) == SeriesKey.edge(
        "inventory", DATABASE
    )
    orphan_call = Span("T", "c", None, "checkout", "/x", "GET", "client", 200, 1.0, T0)
    assert span_key(orphan_call) is None
    assert not is_bad(orphan_call, SLOW_MS)


def test_span_thresholds_are_wide_while_warming_and_absent_before() -> None:
    """Too young a baseline sets no threshold, a warming one level x warmup_multiplier, an
    established one its request bar: far out in the key's own tail, at least its latency
    threshold (level x multiplier)."""
    config = DetectionConfig()
    newborn = Baseline(INVENTORY, 10.0, 1.0, 5.0, 0.0, 10, config.warmup_windows - 1, T0)
    young = Baseline(PAYMENT, 10.0, 1.0, 5.0, 0.0, 100, config.min_windows - 1, T0)
    known = Baseline(CHECKOUT, 10.0, 1.0, 5.0, 0.0, 1000, config.min_windows, T0)
    thresholds = span_thresholds({INVENTORY: newborn, PAYMENT: young, CHECKOUT: known}, config)
    # Without a learned p95 the key's shape is unknown: exp(3 x 0.5) = 4.5 x the level.
    assert thresholds == {
        PAYMENT: 10.0 * config.warmup_multiplier,
        CHECKOUT: pytest.approx(10.0 * math.exp(1.5)),
    }
    steady = dataclasses.replace(known, tail_ms=12.0)  # a narrow key: the window bar rules
    assert span_thresholds({CHECKOUT: steady}, config) == {CHECKOUT: 20.0}
    assert config.latency_multiplier == 2.0


def test_an_anomaly_counts_only_the_origins_below_its_own_spans() -> None:
    """A trace with payment slow and inventory failing: payment's anomaly sees payment only."""
    roots = build_trees(shop_trace("T", payment_ms=2000.0, inventory_status=500))
    origins = find_origins(roots, SLOW_MS)
    [mine] = relevant_origins(origins, roots, anomaly(PAYMENT, AnomalyType.LATENCY), SLOW_MS)
    assert mine.suspect == Suspect("payment", "/payment")
    [theirs] = relevant_origins(origins, roots, anomaly(INVENTORY), SLOW_MS)
    assert theirs.suspect == Suspect("inventory", "/inventory/reserve")


def test_a_latency_anomaly_counts_slow_origins_an_error_spike_failed_ones() -> None:
    """checkout's anomalies share traces: its latency is payment's, its errors inventory's."""
    roots = build_trees(shop_trace("T", payment_ms=2000.0, inventory_status=500))
    origins = find_origins(roots, SLOW_MS)
    [slow] = relevant_origins(origins, roots, anomaly(CHECKOUT, AnomalyType.LATENCY), SLOW_MS)
    [failed] = relevant_origins(origins, roots, anomaly(CHECKOUT), SLOW_MS)
    assert (slow.suspect.service, failed.suspect.service) == ("payment", "inventory")


def test_an_anomaly_whose_spans_the_trace_lost_counts_every_origin() -> None:
    """No checkout span in the trace: its anomaly cannot be scoped, so all origins count."""
    spans = [s for s in shop_trace("T", payment_status=500) if s.span_id != "T-checkout"]
    roots = build_trees(spans)
    origins = find_origins(roots, SLOW_MS)
    assert relevant_origins(origins, roots, anomaly(CHECKOUT), SLOW_MS) == origins


@st.composite
def injected_trees(draw: st.DrawFn) -> tuple[list[Span], str]:
    """A random call tree with one failing span, healthy below it, failing above it.

    Spans alternate server and client by depth, as requests and their calls
    do; timestamps are random, as disagreeing clocks make them.
    """
    size = draw(st.integers(min_value=1, max_value=40))
    parents: list[int | None] = [None]
    for i in range(1, size):
        parents.append(draw(st.integers(min_value=0, max_value=i - 1)))
    depth = [0] * size
    for i in range(1, size):
        parent = parents[i]
        assert parent is not None
        depth[i] = depth[parent] + 1
    culprit = draw(st.integers(min_value=0, max_value=size - 1))
    failing = set()
    node: int | None = culprit
    while node is not None:
        failing.add(node)
        node = parents[node]
    offsets = draw(st.lists(st.integers(-10_000, 10_000), min_size=size, max_size=size))
    spans = [
        Span(
            trace_id="T",
            span_id=f"s{i}",
            parent_span_id=None if parents[i] is None else f"s{parents[i]}",
            service=f"svc{i}",
            endpoint=f"/e{i}",
            method="GET",
            kind="server" if depth[i] % 2 == 0 else "client",
            status_code=500 if i in failing else 200,
            latency_ms=10.0,
            start=T0 + timedelta(milliseconds=offsets[i]),
            peer_service=None if depth[i] % 2 == 0 else f"svc{i}",
        )
        for i in range(size)
    ]
    return draw(st.permutations(spans)), f"s{culprit}"


@given(injected_trees())
def test_the_one_injected_failure_is_the_only_origin(case: tuple[list[Span], str]) -> None:
    """Failures propagate up: whatever the shape, clocks or row order, only the culprit is found."""
    spans, culprit = case
    origins = find_origins(build_trees(spans), {})
    assert [o.span.span_id for o in origins] == [culprit]


def test_a_failure_above_spans_that_are_only_slow_is_an_origin_of_its_own() -> None:
    """checkout throws while payment is slow: two troubles, each where it starts."""
    spans = shop_trace("T", payment_ms=2000.0)
    spans[0] = dataclasses.replace(spans[0], status_code=500)
    assert origins_of(spans) == ["checkout /checkout failed", "payment /payment slow"]


def test_a_call_that_timed_out_on_a_slow_callee_still_blames_the_callee() -> None:
    """The call failed (timeout) but payment answered, slowly: both origins name payment."""
    spans = shop_trace("T", payment_ms=2000.0)
    spans = [
        dataclasses.replace(s, status_code=504, error_kind="timeout") if s.span_id == "T-to-payment"
        else dataclasses.replace(s, status_code=500) if s.parent_span_id is None
        else s
        for s in spans
    ]  # fmt: skip
    assert origins_of(spans) == ["payment /payment failed", "payment /payment slow"]
