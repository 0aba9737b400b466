"""Labelled recordings for replay: a three-service shop as OTLP JSON lines or a span CSV.

checkout calls payment, then inventory, for every request. A fault makes
one service slower (or fail) for a while; the truth file says where and
when. Deterministic for a seed, so tests and the benchmark see the same file.
"""

from __future__ import annotations

import csv
import gzip
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
ROUTES = {"checkout": "/checkout", "payment": "/payment", "inventory": "/inventory/reserve"}
BASE_MS = {"payment": 20.0, "inventory": 8.0, "checkout": 4.0}


@dataclass(frozen=True, slots=True)
class ShopFault:
    service: str
    start_s: float  # seconds after T0
    end_s: float
    extra_ms: float = 0.0
    error_rate: float = 0.0

    def truth(self) -> dict[str, Any]:
        return {
            "start": (T0 + timedelta(seconds=self.start_s)).isoformat(),
            "end": (T0 + timedelta(seconds=self.end_s)).timestamp(),  # both forms are accepted
            "service": self.service,
            "endpoint": ROUTES[self.service],
            "kind": "latency" if self.extra_ms else "errors",
        }


@dataclass(frozen=True, slots=True)
class Span:
    """One span as the generator makes it, before it is written in a format."""

    service: str
    trace_id: str
    span_id: str
    parent_id: str | None
    name: str
    kind: str  # "server" or "client"
    start_ns: int
    end_ns: int
    status: int
    peer: str | None = None


def shop_spans(
    *, seconds: float, rate: float, faults: tuple[ShopFault, ...] = (), seed: int = 7
) -> Iterator[Span]:
    """`rate` checkouts per second for `seconds`, five spans each, in start order per request."""
    rng = random.Random(seed)
    ids = iter(range(1, 1 << 62))
    step = 1.0 / rate
    t = 0.0
    while t < seconds:
        yield from _checkout(rng, ids, t, faults)
        t += step * rng.uniform(0.5, 1.5)


def _checkout(
    rng: random.Random, ids: Iterator[int], t: float, faults: tuple[ShopFault, ...]
) -> Iterator[Span]:
    trace = f"{next(ids):032x}"
    root = f"{next(ids):016x}"
    start = _ns(t)
    cursor = start + _ms(0.5)
    children: list[Span] = []
    failed = False
    for callee in ("payment", "inventory"):
        latency, status = _latency(rng, callee, t, faults)
        call, served = f"{next(ids):016x}", f"{next(ids):016x}"
        served_start = cursor + _ms(0.3)
        served_end = served_start + _ms(latency)
        call_end = served_end + _ms(0.3)
        route = ROUTES[callee]
        children += [
            Span(callee, trace, served, call, route, "server", served_start, served_end, status),
            Span("checkout", trace, call, root, f"POST {route}", "client", cursor, call_end,
                 status, callee),
        ]  # fmt: skip
        cursor = call_end + _ms(0.2)
        if status >= 500:
            failed = True
            break
    own, _ = _latency(rng, "checkout", t, faults)
    end = cursor + _ms(own)
    status = 502 if failed else 200
    yield Span("checkout", trace, root, None, "/checkout", "server", start, end, status)
    yield from children


def _latency(
    rng: random.Random, service: str, t: float, faults: tuple[ShopFault, ...]
) -> tuple[float, int]:
    latency = BASE_MS[service] * rng.lognormvariate(0.0, 0.15)
    status = 200
    for fault in faults:
        if fault.service == service and fault.start_s <= t < fault.end_s:
            latency += fault.extra_ms
            if rng.random() < fault.error_rate:
                status = 503
    return latency, status


def _ns(seconds: float) -> int:
    return int((T0.timestamp() + seconds) * 1e9)


def _ms(ms: float) -> int:
    return int(ms * 1e6)


def write_otlp_lines(path: Path, spans: Iterator[Span], *, batch_s: float = 1.0) -> int:
    """Spans as the Collector's file exporter writes them: one request per line, by end time.

    A batch holds the spans that ended within `batch_s`, so a parent comes
    after its children and files are out of start order, as real ones are.
    """
    opener = gzip.open if path.suffix == ".gz" else open
    count = 0
    batch: list[Span] = []
    batch_end = None
    with opener(path, "wt", encoding="utf-8") as out:
        for span in sorted(spans, key=lambda s: s.end_ns):
            if batch_end is None or span.end_ns >= batch_end:
                if batch:
                    out.write(json.dumps(_request(batch), separators=(",", ":")) + "\n")
                batch, batch_end = [], span.end_ns + int(batch_s * 1e9)
            batch.append(span)
            count += 1
        if batch:
            out.write(json.dumps(_request(batch), separators=(",", ":")) + "\n")
    return count


def _request(batch: list[Span]) -> dict[str, Any]:
    by_service: dict[str, list[dict[str, Any]]] = {}
    for span in batch:
        by_service.setdefault(span.service, []).append(_otlp_span(span))
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": [_attr("service.name", service)]},
                "scopeSpans": [{"scope": {"name": "shop"}, "spans": spans}],
            }
            for service, spans in by_service.items()
        ]
    }


def _otlp_span(span: Span) -> dict[str, Any]:
    attributes = [_attr("http.request.method", "POST")]
    attributes.append({"key": "http.response.status_code", "value": {"intValue": str(span.status)}})
    if span.kind == "server":
        attributes.append(_attr("http.route", span.name))
    elif span.peer:
        attributes.append(_attr("peer.service", span.peer))
    body: dict[str, Any] = {
        "traceId": span.trace_id,
        "spanId": span.span_id,
        "name": span.name,
        "kind": 2 if span.kind == "server" else 3,
        "startTimeUnixNano": str(span.start_ns),
        "endTimeUnixNano": str(span.end_ns),
        "attributes": attributes,
        "status": {"code": 2} if span.status >= 500 else {},
    }
    if span.parent_id:
        body["parentSpanId"] = span.parent_id
    return body


def _attr(key: str, value: str) -> dict[str, Any]:
    return {"key": key, "value": {"stringValue": value}}


JAEGER_COLUMNS = (
    "TraceID", "SpanID", "ParentID", "ServiceName", "OperationName", "StartTimeUs", "DurationUs",
    "StatusCode",
)  # fmt: skip


def write_span_csv(path: Path, spans: Iterator[Span]) -> int:
    """A Jaeger-style span CSV (µs start and duration, no kind column), as public datasets have."""
    count = 0
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(JAEGER_COLUMNS)
        for span in spans:
            writer.writerow(
                [
                    span.trace_id,
                    span.span_id,
                    span.parent_id or "",
                    span.service,
                    span.name,
                    span.start_ns // 1000,
                    (span.end_ns - span.start_ns) // 1000,
                    span.status,
                ]
            )
            count += 1
    return count


def write_truth(path: Path, faults: tuple[ShopFault, ...]) -> None:
    path.write_text(json.dumps([f.truth() for f in faults], indent=2), encoding="utf-8")
