"""Each fault kind leaves in the spans the signature docs/simulate.md promises, and only there."""

from __future__ import annotations

import re
import statistics
from datetime import timedelta

from aiops_engine.rows import SpanRecord, span_failed
from aiops_simulate import FaultKind
from aiops_simulate.generate import MAX_SKEW_MS

from .spans import (
    after,
    before,
    client,
    during,
    median_ms,
    server,
    slowdown,
    with_fault,
)

UNCHANGED = (0.8, 1.25)  # a median ratio within this is noise, not an effect


def failed_share(spans: list[SpanRecord]) -> float:
    assert spans, "no spans to judge"
    return sum(span_failed(r[10], r[4], r[3], r[12]) for r in spans) / len(spans)


def test_latency_slows_the_endpoints_own_time_and_its_callers_but_not_its_siblings() -> None:
    _, spans = with_fault(FaultKind.LATENCY, "catalog", "/api/products", magnitude=10.0)
    assert slowdown(spans, server("catalog", "/api/products")) > 4
    assert slowdown(spans, client("frontend", "catalog", "/api/products")) > 4
    assert slowdown(spans, server("recommendation")) > 2
    low, high = UNCHANGED
    assert low < slowdown(spans, server("catalog", "/api/products/{id}")) < high


def test_cpu_slows_the_services_own_work_while_the_calls_it_makes_stay_as_fast() -> None:
    _, spans = with_fault(FaultKind.CPU, "frontend", magnitude=8.0)
    assert slowdown(spans, server("frontend", "/product/{id}")) > 1.5
    assert slowdown(spans, lambda r: r[10] == "internal" and r[1] == "frontend") > 3
    low, high = UNCHANGED
    assert low < slowdown(spans, client("frontend", "catalog")) < high
    assert low < slowdown(spans, server("catalog", "/api/products/{id}")) < high


def test_network_delays_the_callers_client_spans_not_the_targets_server_spans() -> None:
    _, spans = with_fault(FaultKind.NETWORK, "catalog", magnitude=200.0)
    calls = client(None, "catalog")
    added = median_ms(during(spans, calls)) - median_ms(before(spans, calls))
    assert 180 < added < 220
    low, high = UNCHANGED
    assert low < slowdown(spans, server("catalog")) < high


def test_http_error_answers_5xx_and_the_callers_fail_too() -> None:
    _, spans = with_fault(FaultKind.HTTP_ERROR, "catalog", "/api/products/{id}", magnitude=0.5)
    answers = during(spans, server("catalog", "/api/products/{id}"))
    assert {r[4] for r in answers} == {500, 503}
    calls = during(spans, client("frontend", "catalog", "/api/products/{id}"))
    assert calls
    assert all(r[4] in (500, 503) and r[12] is None for r in calls)
    assert failed_share(during(spans, server("frontend", "/product/{id}"))) > 0.95
    assert failed_share(before(spans, server("frontend", "/product/{id}"))) < 0.02


def test_exception_fails_the_target_span_with_status_200_and_no_caller_fails() -> None:
    _, spans = with_fault(FaultKind.EXCEPTION, "currency", "/api/convert")
    raised = during(spans, server("currency", "/api/convert"))
    assert raised
    assert all(r[12] == "exception" and r[4] == 200 for r in raised)
    assert all(re.match(r"^\w+Error: \S", r[6] or "") for r in raised)
    assert failed_share(raised) == 1.0
    calls = during(spans, client(None, "currency", "/api/convert"))
    assert calls
    assert all(r[4] == 200 and r[12] is None for r in calls)
    assert failed_share(during(spans, server("frontend", "/product/{id}"))) < 0.02


def test_kill_silences_the_service_and_its_callers_get_refused_connections() -> None:
    scenario, spans = with_fault(FaultKind.KILL, "cart", magnitude=2.0, after_s=60.0)
    fault = scenario.faults[0]
    skew = timedelta(milliseconds=MAX_SKEW_MS)  # a request begun just before shows just after
    assert not [r for r in spans if r[1] == "cart" and fault.start + skew <= r[0] < fault.end]
    refused = during(spans, client(None, "cart"))
    assert refused
    assert all(r[4] is None and r[12] == "connection_refused" and r[5] < 20 for r in refused)
    assert failed_share(refused) == 1.0
    assert failed_share(during(spans, server("frontend", "/"))) > 0.95
    assert len(after(spans, server("cart"))) > 100  # it comes back when the fault ends


def test_a_call_into_a_killed_service_is_retried_where_the_edge_retries() -> None:
    _, spans = with_fault(FaultKind.KILL, "cart")
    adds = during(spans, client("frontend", "cart", "/api/cart/items"))
    resent = [r for r in adds if r[13] == '{"http.request.resend_count":1}']
    assert resent
    assert len(resent) * 2 == len(adds)


def test_an_optional_callee_killed_does_not_fail_its_caller() -> None:
    _, spans = with_fault(FaultKind.KILL, "ad")
    assert failed_share(during(spans, client("frontend", "ad"))) == 1.0
    assert failed_share(during(spans, server("frontend", "/product/{id}"))) < 0.02


def test_db_slow_slows_one_query_label_and_the_service_querying_it() -> None:
    _, spans = with_fault(FaultKind.DB_SLOW, "shop-db", "SELECT products", magnitude=10.0)
    query = client("catalog", "shop-db", "SELECT products")
    assert all(r[3] == "SQL" and r[4] is None for r in during(spans, query))
    assert slowdown(spans, query) > 5
    low, high = UNCHANGED
    assert low < slowdown(spans, client("catalog", "shop-db", "SELECT products WHERE id")) < high
    products = server("catalog", "/api/products")
    mean_before = statistics.mean(r[5] for r in before(spans, products))
    assert statistics.mean(r[5] for r in during(spans, products)) > 1.5 * mean_before


def test_a_ramped_fault_grows_from_nothing_to_full_over_its_ramp() -> None:
    scenario, spans = with_fault(
        FaultKind.LATENCY, "catalog", "/api/products", magnitude=10.0, ramp_s=90.0
    )
    start = scenario.faults[0].start
    target = during(spans, server("catalog", "/api/products"))
    first = [r for r in target if (r[0] - start).total_seconds() < 20]
    last = [r for r in target if (r[0] - start).total_seconds() > 70]
    assert median_ms(last) > 3 * median_ms(first)
    assert median_ms(first) < 2 * median_ms(before(spans, server("catalog", "/api/products")))


def test_a_partial_fault_hits_about_its_share_of_the_requests() -> None:
    _, spans = with_fault(FaultKind.EXCEPTION, "currency", "/api/convert", share=0.25)
    target = during(spans, server("currency", "/api/convert"))
    hit = sum(r[12] == "exception" for r in target) / len(target)
    assert 0.18 < hit < 0.32
