"""Constructed traces of the shop for the RCA tests, and anomalies to go with them.

The shape is the real one: checkout's server span /checkout calls payment
(client span endpoint "/payment", peer "payment") and inventory (client span
"/inventory/reserve"), each callee recording its own server span, and
inventory running its stock query as a client span with peer "postgres".
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from aiops_engine.detection import Anomaly, AnomalyType, SeriesKey
from aiops_engine.rca import DATABASE, Dependency, DependencyGraph, Span
from aiops_engine.rows import to_span
from aiops_telemetry import CLIENT
from tests.support import telemetry_rows

T0 = datetime(2025, 1, 1, tzinfo=UTC)

CHECKOUT = SeriesKey.endpoint("checkout", "/checkout")
PAYMENT = SeriesKey.endpoint("payment", "/payment")
INVENTORY = SeriesKey.endpoint("inventory", "/inventory/reserve")
CHECKOUT_TO_PAYMENT = SeriesKey.edge("checkout", "payment")
CHECKOUT_TO_INVENTORY = SeriesKey.edge("checkout", "inventory")
INVENTORY_TO_DATABASE = SeriesKey.edge("inventory", DATABASE)


def span(
    trace_id: str, span_id: str, service: str, endpoint: str, at_ms: float, **fields: Any
) -> Span:
    """A span of trace `trace_id` started `at_ms` after T0, as the store reads it back."""
    at = T0 + timedelta(milliseconds=at_ms)
    row = telemetry_rows.span(
        service, at=at, endpoint=endpoint, trace_id=trace_id, span_id=span_id, **fields
    )
    return to_span(row)


def server(
    trace_id: str, span_id: str, service: str, endpoint: str, *, parent: str | None = None,
    status: int = 200, latency_ms: float = 10.0, at_ms: float = 0.0,
) -> Span:  # fmt: skip
    """A server span: a request `service` served on `endpoint`."""
    return span(
        trace_id, span_id, service, endpoint, at_ms, parent=parent, status=status,
        latency_ms=latency_ms,
    )  # fmt: skip


def client(
    trace_id: str, span_id: str, service: str, peer: str, endpoint: str, *, parent: str | None,
    status: int | None = 200, latency_ms: float = 10.0, at_ms: float = 0.0,
    error_kind: str | None = None,
) -> Span:  # fmt: skip
    """A client span: a call `service` made to `peer`'s `endpoint`."""
    return span(
        trace_id, span_id, service, endpoint, at_ms, kind=CLIENT, peer=peer, parent=parent,
        status=status, latency_ms=latency_ms, error_kind=error_kind, error_message=error_kind,
    )  # fmt: skip


def query(
    trace_id: str, span_id: str, service: str, *, parent: str, latency_ms: float = 1.0,
    at_ms: float = 0.0, error_kind: str | None = None,
) -> Span:  # fmt: skip
    """A database query `service` ran, as the telemetry library records it."""
    return span(
        trace_id, span_id, service, "UPDATE inventory_stock", at_ms, method="SQL", kind=CLIENT,
        status=None, peer=DATABASE, parent=parent, latency_ms=latency_ms, error_kind=error_kind,
    )  # fmt: skip


def shop_trace(
    trace_id: str,
    *,
    payment_status: int = 200,
    payment_ms: float = 20.0,
    calls_inventory: bool = True,
    inventory_status: int = 200,
    inventory_ms: float = 15.0,
    query_error: str | None = None,
    payment_down: str | None = None,
    payment_skew_ms: float = 0.0,
) -> list[Span]:
    """One checkout request. Callers fail when a callee does, and take as long as it plus 1 ms.

    `query_error` fails inventory's stock query (and so inventory);
    `payment_down` is the error kind of a call to a stopped payment: no
    response, no payment span. `payment_skew_ms` shifts payment's clock.
    """
    root_id = f"{trace_id}-checkout"
    spans: list[Span] = []
    elapsed = 5.0

    def hop(callee: str, endpoint: str, status: int | None, ms: float, skew: float = 0.0) -> Span:
        """checkout's call to `callee`, and the request `callee` served for it unless down."""
        nonlocal elapsed
        call_id = f"{trace_id}-to-{callee}"
        refused = payment_down if status is None else None
        spans.append(
            client(
                trace_id, call_id, "checkout", callee, endpoint, parent=root_id, status=status,
                latency_ms=ms + 1.0, at_ms=elapsed, error_kind=refused,
            )
        )  # fmt: skip
        if status is not None:
            spans.append(
                server(
                    trace_id, f"{trace_id}-{callee}", callee, endpoint, parent=call_id,
                    status=status, latency_ms=ms, at_ms=elapsed + 0.5 + skew,
                )
            )  # fmt: skip
        elapsed += ms + 1.0
        return spans[-1]

    if payment_down is not None:
        hop("payment", "/payment", None, 0.0)
    else:
        hop("payment", "/payment", payment_status, payment_ms, payment_skew_ms)
    if calls_inventory:
        status = 500 if query_error is not None else inventory_status
        served = hop("inventory", "/inventory/reserve", status, inventory_ms)
        spans.append(
            query(trace_id, f"{trace_id}-sql", "inventory", parent=served.span_id,
                  at_ms=elapsed - inventory_ms, error_kind=query_error)
        )  # fmt: skip
    failed = any(span.failed for span in spans)
    return [
        server(trace_id, root_id, "checkout", "/checkout", status=500 if failed else 200,
               latency_ms=elapsed),
        *spans,
    ]  # fmt: skip


def anomaly(
    key: SeriesKey,
    type: AnomalyType = AnomalyType.ERROR_SPIKE,
    *,
    traces: Sequence[str] = (),
    score: float = 0.8,
    end_s: float = 10.0,
) -> Anomaly:
    """An anomaly on `key` in the window ending `end_s` seconds after T0."""
    end = T0 + timedelta(seconds=end_s)
    return Anomaly(
        type=type,
        key=key,
        observed=1.0,
        baseline=None,
        threshold=0.2,
        window_start=end - timedelta(seconds=10),
        window_end=end,
        sample_count=10,
        score=score,
        sample_trace_ids=tuple(traces),
        explanation=f"{key} {type}",
    )


def graph(*edges: tuple[str, str]) -> DependencyGraph:
    """A dependency graph of caller→callee edges."""
    return DependencyGraph.of(Dependency(a, b, 100, 0, T0, T0) for a, b in edges)


SHOP = graph(("checkout", "payment"), ("checkout", "inventory"), ("inventory", DATABASE))

# Per-span latency thresholds as `span_thresholds` would give them: 100 ms everywhere.
SLOW_MS = dict.fromkeys(
    (
        CHECKOUT,
        PAYMENT,
        INVENTORY,
        CHECKOUT_TO_PAYMENT,
        CHECKOUT_TO_INVENTORY,
        INVENTORY_TO_DATABASE,
    ),
    100.0,
)
