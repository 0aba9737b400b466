"""From anomalies and their traces to findings: the root cause, not the loudest symptom."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from aiops_engine.detection import AnomalyType, SeriesKey
from aiops_engine.rca import (
    DATABASE,
    DependencyGraph,
    RcaConfig,
    Span,
    Suspect,
    analyse,
    correlate,
)

from .spans import (
    CHECKOUT,
    CHECKOUT_TO_INVENTORY,
    CHECKOUT_TO_PAYMENT,
    INVENTORY,
    INVENTORY_TO_DATABASE,
    PAYMENT,
    SHOP,
    SLOW_MS,
    anomaly,
    graph,
    shop_trace,
)

PAYMENT_SUSPECT = Suspect("payment", "/payment")
INVENTORY_SUSPECT = Suspect("inventory", "/inventory/reserve")
LATENCY = AnomalyType.LATENCY


def traces_of(*traces: list[Span]) -> dict[str, list[Span]]:
    return {spans[0].trace_id: spans for spans in traces}


def test_the_seeds_worked_example_blames_payment_with_full_confidence() -> None:
    """ABC-123 (checkout 500, payment 500, inventory 200) and DEF-456 (checkout 500, payment
    500): checkout and payment both spike, one finding, payment /payment, 100 %, 2/2 traces."""
    traces = traces_of(
        shop_trace("ABC-123", payment_status=500),
        shop_trace("DEF-456", payment_status=500, calls_inventory=False),
    )
    ids = ["ABC-123", "DEF-456"]
    anomalies = [anomaly(CHECKOUT, traces=ids), anomaly(PAYMENT, traces=ids)]
    [finding] = analyse(anomalies, traces, SHOP, {})
    assert finding.root_cause == PAYMENT_SUSPECT
    assert finding.confidence == 1.0
    assert finding.explanation.startswith("payment /payment failed first in 2/2 traces")
    assert finding.trace_ids == ("ABC-123", "DEF-456")
    assert [(c.suspect.service, c.traces) for c in finding.candidates] == [
        ("payment", 2),
        ("checkout", 0),  # anomalous too: a runner-up with no share of the evidence
    ]
    assert sorted(finding.anomalies, key=lambda a: a.key) == sorted(anomalies, key=lambda a: a.key)
    assert finding.affected_services == {"checkout", "payment"}


def test_payment_failing_every_request_is_the_root_not_checkout() -> None:
    """Error rate 1.0 on payment with traffic entering at checkout: one finding, payment."""
    ids = [f"t{i}" for i in range(12)]
    traces = traces_of(*(shop_trace(t, payment_status=500) for t in ids))
    anomalies = [
        anomaly(CHECKOUT, traces=ids, score=0.9),
        anomaly(CHECKOUT_TO_PAYMENT, traces=ids, score=0.9),
        anomaly(PAYMENT, traces=ids, score=0.95),
    ]
    [finding] = analyse(anomalies, traces, SHOP, SLOW_MS)
    assert finding.root_cause == PAYMENT_SUSPECT
    assert finding.confidence == 1.0
    assert finding.explanation == "payment /payment failed first in 12/12 traces"
    assert len(finding.trace_ids) == RcaConfig().max_trace_ids


def test_a_slow_payment_is_the_root_not_the_slow_checkout_above_it() -> None:
    """A 2 s delay on payment slows checkout's call and checkout too: payment is the cause."""
    ids = [f"t{i}" for i in range(5)]
    traces = traces_of(*(shop_trace(t, payment_ms=2000.0) for t in ids))
    anomalies = [
        anomaly(CHECKOUT, LATENCY, traces=ids, score=0.99),
        anomaly(CHECKOUT_TO_PAYMENT, LATENCY, traces=ids),
        anomaly(PAYMENT, LATENCY, traces=ids),
    ]
    [finding] = analyse(anomalies, traces, SHOP, SLOW_MS)
    assert finding.root_cause == PAYMENT_SUSPECT
    assert finding.explanation == "payment /payment was slow first in 5/5 traces"
    assert [(c.suspect.service, c.score) for c in finding.candidates] == [
        ("payment", 1.0),
        ("checkout", 0.0),
    ]


# What falls silent when payment stops answering: payment itself, and below it what checkout
# no longer reaches once it gives up at payment (inventory and its database).
SILENT = {
    "payment": [PAYMENT],
    "below-payment": [INVENTORY, CHECKOUT_TO_INVENTORY, INVENTORY_TO_DATABASE],
}


@pytest.mark.parametrize("silent", SILENT.values(), ids=SILENT)
def test_a_stopped_payment_is_one_finding_and_what_falls_silent_is_its_symptom(
    silent: list[SeriesKey],
) -> None:
    """Calls to payment refused, no payment spans, silences: all of it is payment's, with
    full confidence, never a cause of its own."""
    ids = [f"t{i}" for i in range(4)]
    traces = traces_of(
        *(shop_trace(t, payment_down="connection_refused", calls_inventory=False) for t in ids)
    )
    anomalies = [
        anomaly(CHECKOUT_TO_PAYMENT, traces=ids, score=0.9),
        anomaly(CHECKOUT, traces=ids),
        *(anomaly(key, AnomalyType.SILENCE, score=0.99) for key in silent),
    ]
    [finding] = analyse(anomalies, traces, SHOP, SLOW_MS)
    assert finding.root_cause == PAYMENT_SUSPECT
    assert finding.confidence == 1.0
    assert len(finding.anomalies) == len(anomalies)
    assert finding.explanation == (
        "payment /payment did not answer in 4/4 traces (connection_refused)"
    )


def test_traffic_that_stopped_at_the_entry_is_blamed_on_the_entry() -> None:
    """Only silence, everywhere: it started where nothing silent calls in."""
    anomalies = [
        anomaly(key, AnomalyType.SILENCE)
        for key in (CHECKOUT, PAYMENT, INVENTORY, CHECKOUT_TO_PAYMENT, INVENTORY_TO_DATABASE)
    ]
    [finding] = analyse(anomalies, {}, SHOP, SLOW_MS)
    assert finding.root_cause == Suspect("checkout", "/checkout")


def test_a_stopped_payment_with_few_traces_still_gets_the_graph_vote() -> None:
    """One trace is below min_traces: the graph adds its vote, for payment, not checkout."""
    traces = traces_of(shop_trace("t0", payment_down="timeout", calls_inventory=False))
    anomalies = [
        anomaly(CHECKOUT, traces=["t0"]),
        anomaly(PAYMENT, AnomalyType.SILENCE),
    ]
    [finding] = analyse(anomalies, traces, DependencyGraph(), SLOW_MS)
    candidate, *runners_up = finding.candidates
    assert [c.suspect.service for c in runners_up] == ["checkout"]
    assert candidate.suspect == PAYMENT_SUSPECT
    assert candidate.evidence == (
        "did not answer in 1/1 trace (timeout); anomalous, and nothing it depends on is"
    )


def test_payment_slow_and_inventory_failing_at_once_are_two_findings() -> None:
    """Two independent faults in one window: each gets its own finding and root."""
    slow = [f"slow{i}" for i in range(3)]
    failing = [f"fail{i}" for i in range(3)]
    both = ["both"]
    traces = traces_of(
        *(shop_trace(t, payment_ms=2000.0) for t in slow),
        *(shop_trace(t, inventory_status=500) for t in failing),
        shop_trace("both", payment_ms=2000.0, inventory_status=500),
    )
    checkout_slow = anomaly(CHECKOUT, LATENCY, traces=both + slow, score=0.6)
    checkout_failing = anomaly(CHECKOUT, traces=both + failing, score=0.6)
    anomalies = [
        anomaly(PAYMENT, LATENCY, traces=both + slow, score=0.9),
        anomaly(CHECKOUT_TO_PAYMENT, LATENCY, traces=both + slow),
        anomaly(INVENTORY, traces=both + failing, score=0.7),
        anomaly(CHECKOUT_TO_INVENTORY, traces=both + failing),
        checkout_slow,
        checkout_failing,
    ]
    payment, inventory = analyse(anomalies, traces, SHOP, SLOW_MS)
    assert (payment.root_cause, inventory.root_cause) == (PAYMENT_SUSPECT, INVENTORY_SUSPECT)
    assert {a.key for a in payment.anomalies} == {PAYMENT, CHECKOUT_TO_PAYMENT, CHECKOUT}
    assert {a.key for a in inventory.anomalies} == {INVENTORY, CHECKOUT_TO_INVENTORY, CHECKOUT}
    assert checkout_slow in payment.anomalies
    assert checkout_failing in inventory.anomalies
    assert payment.confidence == inventory.confidence == 1.0
    assert payment.trace_ids[0] == "both"


def test_a_failing_database_query_blames_postgres() -> None:
    """inventory 500s because its query failed: the root is the database, not inventory."""
    ids = [f"t{i}" for i in range(3)]
    traces = traces_of(*(shop_trace(t, query_error="db_error") for t in ids))
    anomalies = [
        anomaly(CHECKOUT, traces=ids),
        anomaly(INVENTORY, traces=ids, score=0.9),
        anomaly(INVENTORY_TO_DATABASE, traces=ids),
    ]
    [finding] = analyse(anomalies, traces, SHOP, SLOW_MS)
    assert finding.root_cause == Suspect(DATABASE)
    assert finding.explanation == "postgres: its queries failed or were slow in 3/3 traces"


@pytest.mark.parametrize("skew_ms", [-60_000.0, 60_000.0])
def test_clock_skew_between_services_still_blames_payment(skew_ms: float) -> None:
    """payment's clock a minute early or late changes nothing: the tree decides."""
    ids = ["a", "b", "c"]
    traces = traces_of(*(shop_trace(t, payment_status=500, payment_skew_ms=skew_ms) for t in ids))
    anomalies = [anomaly(CHECKOUT, traces=ids), anomaly(PAYMENT, traces=ids)]
    [finding] = analyse(anomalies, traces, SHOP, SLOW_MS)
    assert finding.root_cause == PAYMENT_SUSPECT
    assert finding.confidence == 1.0


def test_lossy_traces_with_orphans_cycles_and_duplicates_still_blame_payment() -> None:
    """A lost checkout row, a corrupted parent id looping, rows written twice: still payment."""
    orphaned = [s for s in shop_trace("a", payment_status=500) if s.span_id != "a-checkout"]
    looped = shop_trace("b", payment_status=500)
    looped[0] = dataclasses.replace(looped[0], parent_span_id="b-sql")  # checkout below its query
    doubled = shop_trace("c", payment_status=500) * 2
    traces = {"a": orphaned, "b": looped, "c": doubled}
    anomalies = [anomaly(CHECKOUT, traces=["a", "b", "c"]), anomaly(PAYMENT, traces=["a", "c"])]
    [finding] = analyse(anomalies, traces, SHOP, SLOW_MS)
    assert finding.root_cause == PAYMENT_SUSPECT
    assert finding.candidates[0].traces == 3


def test_without_traces_the_graph_blames_the_callee_not_the_caller() -> None:
    """checkout and payment both spike, no traces: checkout calls payment, so payment it is."""
    anomalies = [anomaly(CHECKOUT, traces=["lost"], score=0.9), anomaly(PAYMENT)]
    [finding] = analyse(anomalies, {}, graph(("checkout", "payment")), SLOW_MS)
    assert finding.root_cause == PAYMENT_SUSPECT
    assert finding.confidence == 1.0
    assert finding.trace_ids == ()
    assert finding.explanation == (
        "no traces to follow: payment /payment is anomalous and nothing it calls is"
    )


def test_without_traces_a_reversed_graph_blames_checkout() -> None:
    """The same anomalies, but payment calls checkout: then checkout is the cause."""
    anomalies = [anomaly(CHECKOUT, score=0.9), anomaly(PAYMENT)]
    [finding] = analyse(anomalies, {}, graph(("payment", "checkout")), SLOW_MS)
    assert finding.root_cause == Suspect("checkout", "/checkout")


def test_without_traces_or_a_graph_unrelated_services_are_separate_findings() -> None:
    """Nothing links checkout and payment: each anomaly stands alone, best score first."""
    anomalies = [anomaly(CHECKOUT, score=0.6), anomaly(PAYMENT, score=0.9)]
    findings = analyse(anomalies, {}, DependencyGraph(), SLOW_MS)
    assert [f.root_cause.service for f in findings] == ["payment", "checkout"]


def test_a_trace_pointing_at_two_suspects_splits_its_vote() -> None:
    """One request with payment and inventory both failing: half a vote each."""
    traces = traces_of(shop_trace("t", payment_status=500, inventory_status=500))
    [finding] = analyse([anomaly(CHECKOUT, traces=["t"])], traces, SHOP, SLOW_MS)
    assert {c.suspect: c.score for c in finding.candidates if c.traces} == {
        PAYMENT_SUSPECT: 0.5,
        INVENTORY_SUSPECT: 0.5,
    }
    assert [c.traces for c in finding.candidates] == [1, 1, 0]


def test_candidates_are_ranked_by_their_share_of_the_traces() -> None:
    """3 traces blame payment, 1 inventory: payment leads with 75 %."""
    traces = traces_of(
        *(shop_trace(f"p{i}", payment_status=500) for i in range(3)),
        shop_trace("i0", inventory_status=500),
    )
    ids = ["i0", "p0", "p1", "p2"]
    [finding] = analyse([anomaly(CHECKOUT, traces=ids)], traces, SHOP, SLOW_MS)
    assert [(c.suspect, c.score, c.traces) for c in finding.candidates] == [
        (PAYMENT_SUSPECT, 0.75, 3),
        (INVENTORY_SUSPECT, 0.25, 1),
        (Suspect("checkout", "/checkout"), 0.0, 0),
    ]
    assert finding.candidates[1].evidence == "failed first in 1/4 traces"
    assert finding.trace_ids == ("p0", "p1", "p2", "i0")


def test_anomalies_far_apart_in_time_are_separate_findings() -> None:
    """The same fault an hour apart is two incidents, the worse one first."""
    ids = ["a", "b", "c"]
    traces = traces_of(*(shop_trace(t, payment_status=500) for t in ids))
    early = anomaly(PAYMENT, traces=ids, score=0.6)
    late = anomaly(PAYMENT, traces=ids, score=0.8, end_s=3600.0)
    findings = analyse([early, late], traces, SHOP, SLOW_MS)
    assert [f.anomalies for f in findings] == [(late,), (early,)]


def test_no_anomalies_give_no_findings() -> None:
    """Nothing anomalous, nothing to explain."""
    assert analyse([], {}, SHOP, SLOW_MS) == []


def test_anomalies_ten_minutes_apart_are_two_groups() -> None:
    """With the default 5 min window, a 10 min gap splits."""
    first, second = anomaly(PAYMENT), anomaly(CHECKOUT, end_s=600.0)
    assert correlate([second, first], 300.0) == [[first], [second]]


def test_anomalies_within_five_minutes_are_one_group() -> None:
    """A 4 min gap keeps them together, and so does a chain of such gaps (single linkage)."""
    a, b, c = anomaly(PAYMENT), anomaly(CHECKOUT, end_s=240.0), anomaly(INVENTORY, end_s=480.0)
    assert correlate([c, a, b], 300.0) == [[a, b, c]]
    assert correlate([], 300.0) == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("correlation_window_s", -1.0),
        ("correlation_window_s", float("inf")),
        ("correlation_window_s", float("nan")),
        ("min_traces", 0),
        ("max_trace_ids", -1),
    ],
)
def test_an_invalid_rca_config_names_the_bad_field(field: str, value: float) -> None:
    """A bad knob fails at construction, naming itself."""
    knobs: dict[str, Any] = {field: value}
    with pytest.raises(ValueError, match=field):
        RcaConfig(**knobs)


def test_the_default_rca_config_is_valid() -> None:
    """Defaults: 5 min correlation, graph help below 3 traces, 10 trace ids kept."""
    assert RcaConfig() == RcaConfig(300.0, 3, 10)


def slow_query_trace(trace_id: str) -> list[Span]:
    """A checkout whose inventory waited 2 s on its stock query (everything above it slow too)."""
    return [
        s if "payment" in s.span_id else dataclasses.replace(s, latency_ms=s.latency_ms + 2000.0)
        for s in shop_trace(trace_id)
    ]


def test_anomalous_services_no_trace_blames_follow_the_voted_ones_as_runners_up() -> None:
    """Two faults at once (a CPU-bound inventory over a slower database) hide the first in every
    trace: the database is the root, inventory and checkout stay listed, with no share."""
    ids = [f"t{i}" for i in range(4)]
    traces = traces_of(*(slow_query_trace(t) for t in ids))
    anomalies = [
        anomaly(CHECKOUT, LATENCY, traces=ids, score=0.7),
        anomaly(INVENTORY, LATENCY, traces=ids, score=0.8),
        anomaly(INVENTORY_TO_DATABASE, LATENCY, traces=ids, score=0.9),
    ]
    [finding] = analyse(anomalies, traces, SHOP, SLOW_MS)
    assert [(c.suspect.service, c.score, c.traces) for c in finding.candidates] == [
        (DATABASE, 1.0, 4),
        ("inventory", 0.0, 0),
        ("checkout", 0.0, 0),
    ]
    assert (
        finding.candidates[1].evidence
        == "anomalous itself, though no trace starts its trouble here"
    )
    assert finding.root_cause == Suspect(DATABASE)

    capped = analyse(anomalies, traces, SHOP, SLOW_MS, RcaConfig(max_candidates=2))
    assert [c.suspect.service for c in capped[0].candidates] == [DATABASE, "inventory"]


def test_an_exception_while_a_callee_is_slow_is_blamed_where_it_was_thrown() -> None:
    """checkout throws (500) while payment is, independently, slow: checkout's error spike is
    checkout's, its latency payment's; one fault does not hide the other."""
    ids = [f"t{i}" for i in range(4)]
    thrown = [
        [dataclasses.replace(s, status_code=500) if s.parent_span_id is None else s for s in trace]
        for trace in (shop_trace(t, payment_ms=2000.0) for t in ids)
    ]
    traces = traces_of(*thrown)
    errors = anomaly(CHECKOUT, traces=ids, score=0.9)
    slow = anomaly(CHECKOUT_TO_PAYMENT, LATENCY, traces=ids, score=0.8)
    roots = {f.root_cause for f in analyse([errors, slow], traces, SHOP, SLOW_MS)}
    assert roots == {Suspect("checkout", "/checkout"), PAYMENT_SUSPECT}


def test_a_stopped_service_failing_on_two_endpoints_is_one_finding() -> None:
    """Calls to payment's /payment and /refund both refused, seen by different anomalies: one
    finding for payment, its busier endpoint the root, so an incident does not flip between them."""
    pay = [f"p{i}" for i in range(3)]
    refund = [f"r{i}" for i in range(2)]
    refused = [shop_trace(t, payment_down="connection_refused", calls_inventory=False) for t in pay]
    for t in refund:
        spans = shop_trace(t, payment_down="connection_refused", calls_inventory=False)
        refused.append(
            [dataclasses.replace(s, endpoint="/refund") if s.peer_service else s for s in spans]
        )
    traces = traces_of(*refused)
    anomalies = [anomaly(CHECKOUT_TO_PAYMENT, traces=pay), anomaly(CHECKOUT, traces=refund)]
    [finding] = analyse(anomalies, traces, SHOP, SLOW_MS)
    assert finding.root_cause == PAYMENT_SUSPECT
    assert [str(c.suspect) for c in finding.candidates if c.traces] == [
        "payment /payment",
        "payment /refund",
    ]
