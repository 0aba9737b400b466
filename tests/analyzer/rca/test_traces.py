"""Call trees: linked by parent ids, never by timestamps, and robust to lossy telemetry."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from aiops_engine.rca import Span, TraceNode, build_trees, find_origins

from .spans import T0, client, server, shop_trace


def shape(node: TraceNode) -> tuple[str, tuple[object, ...]]:
    """A tree as nested (span_id, children) tuples, for comparing."""
    return (node.span.span_id, tuple(shape(child) for child in node.children))


def test_spans_link_into_one_tree_by_parent_id() -> None:
    """checkout's request holds its two calls, each holding the callee's request and below."""
    [root] = build_trees(shop_trace("T"))
    assert shape(root) == (
        "T-checkout",
        (
            ("T-to-payment", (("T-payment", ()),)),
            ("T-to-inventory", (("T-inventory", (("T-sql", ()),)),)),
        ),
    )


def test_the_tree_does_not_depend_on_the_order_spans_arrive_in() -> None:
    """Rows land in any order: the same spans reversed give the same tree."""
    spans = shop_trace("T")
    assert [shape(r) for r in build_trees(reversed(spans))] == [
        shape(r) for r in build_trees(spans)
    ]


def test_a_callee_whose_clock_runs_early_is_still_below_its_caller() -> None:
    """payment's span "starts" a minute before checkout's: the parent id still places it."""
    [root] = build_trees(shop_trace("T", payment_skew_ms=-60_000.0))
    [payment] = root.children[0].children
    assert payment.span.service == "payment"


def test_siblings_and_roots_are_ordered_by_start_then_span_id() -> None:
    """Children sort by (start, span_id), whatever order they were given in."""
    parent = server("T", "p", "checkout", "/checkout")
    b = client("T", "b", "checkout", "payment", "/payment", parent="p", at_ms=1.0)
    a = client("T", "a", "checkout", "payment", "/payment", parent="p", at_ms=1.0)
    early = client("T", "z", "checkout", "payment", "/payment", parent="p", at_ms=0.5)
    lone = server("T", "lone", "payment", "/payment", at_ms=-1.0)
    roots = build_trees([parent, b, a, early, lone])
    assert [r.span.span_id for r in roots] == ["lone", "p"]
    assert [c.span.span_id for c in roots[1].children] == ["z", "a", "b"]


def test_a_span_whose_parent_row_is_missing_becomes_a_root() -> None:
    """Losing checkout's row orphans both calls: each is a root, with its subtree intact."""
    spans = [s for s in shop_trace("T") if s.span_id != "T-checkout"]
    roots = build_trees(spans)
    assert [r.span.span_id for r in roots] == ["T-to-payment", "T-to-inventory"]
    assert sum(1 for r in roots for _ in r.walk()) == len(spans)


def test_a_span_written_twice_counts_once_keeping_the_first() -> None:
    """A duplicate row (a retried write) is dropped; the first one given wins."""
    spans = shop_trace("T")
    twice = dataclasses.replace(spans[2], latency_ms=999.0)
    [root] = build_trees([*spans, twice, *spans])
    assert sum(1 for _ in root.walk()) == len(spans)
    assert root.children[0].children[0].span.latency_ms == spans[2].latency_ms


def test_span_ids_are_only_linked_within_their_trace() -> None:
    """Two traces reusing a span id stay two trees."""
    roots = build_trees([*shop_trace("A"), *shop_trace("B")])
    assert [r.span.trace_id for r in roots] == ["A", "B"]


def test_a_parent_cycle_is_cut_at_its_earliest_span() -> None:
    """a → b → c → a would loop forever: the earliest span, b, becomes the root."""
    a = server("T", "a", "checkout", "/checkout", parent="c", at_ms=2.0)
    b = server("T", "b", "payment", "/payment", parent="a", at_ms=1.0)
    c = server("T", "c", "inventory", "/inventory/reserve", parent="b", at_ms=3.0)
    tail = server("T", "d", "payment", "/payment", parent="c", at_ms=4.0)
    [root] = build_trees([a, b, c, tail])
    assert shape(root) == ("b", (("c", (("a", ()), ("d", ()))),))


def test_a_span_that_is_its_own_parent_is_a_root() -> None:
    """The shortest cycle: a span naming itself as parent."""
    selfish = server("T", "s", "checkout", "/checkout", parent="s")
    assert [shape(r) for r in build_trees([selfish])] == [("s", ())]


def test_no_spans_give_no_trees() -> None:
    """An empty trace (all rows lost) is no error."""
    assert build_trees([]) == []


def test_a_very_deep_trace_does_not_exhaust_the_recursion_limit() -> None:
    """Building and walking are iterative: 20,000 nested calls, the deepest one failing."""
    depth = 20_000
    spans = [
        Span("T", str(i), str(i - 1) if i else None, f"s{i}", "/", "GET", "server",
             500 if i == depth - 1 else 200, 1.0, T0 + timedelta(microseconds=i))
        for i in range(depth)
    ]  # fmt: skip
    roots = build_trees(spans)
    [origin] = find_origins(roots, {})
    assert origin.span.span_id == str(depth - 1)
