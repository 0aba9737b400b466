"""H. OTLP ingest: spans/s through the real receiver process vs raw COPY of the same rows.

The receiver (`services/ingest`) runs as uvicorn, as in compose. A few
concurrent senders post protobuf ExportTraceServiceRequests of 500 spans,
shaped like an instrumented shop's (HTTP server and client spans, queries,
a handful of attributes each); a round ends when every span is a row in
PostgreSQL. The baseline is asyncpg's `copy_records_to_table` of exactly the
rows the receiver makes of those requests, in the same round.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import sys
import time

import asyncpg
import httpx
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

from aiops_telemetry import SpanRow
from aiops_telemetry.otlp import rows_from_otlp_request

from .fleet import Context, Fleet
from .ingest import rate_row, raw_copy_seconds
from .report import Check, Goal, Section, count, ratio

SPANS_PER_REQUEST = 500
SENDERS = 4
START_NS = 1_735_689_600 * 10**9  # 2025-01-01
# (service, span name, kind, attributes): one trace of an instrumented shop.
_TRACE = (
    ("frontend", "GET /cart/{id}", Span.SPAN_KIND_SERVER,
     {"http.route": "/cart/{id}", "http.request.method": "GET", "url.path": "/cart/8812",
      "http.response.status_code": 200, "user_agent.original": "Mozilla/5.0 (X11; Linux)"}),
    ("frontend", "GET", Span.SPAN_KIND_CLIENT,
     {"http.request.method": "GET", "server.address": "cart", "server.port": 8080,
      "url.full": "http://cart:8080/cart/8812", "http.response.status_code": 200}),
    ("cart", "GET /cart/{id}", Span.SPAN_KIND_SERVER,
     {"http.route": "/cart/{id}", "http.request.method": "GET", "url.path": "/cart/8812",
      "http.response.status_code": 200}),
    ("cart", "SELECT cart_items", Span.SPAN_KIND_CLIENT,
     {"db.system": "postgresql", "db.statement": "SELECT sku, qty FROM cart_items WHERE id = $1",
      "server.address": "db"}),
    ("cart", "render", Span.SPAN_KIND_INTERNAL, {"items": 3}),
)  # fmt: skip


def _value(value: object) -> AnyValue:
    if isinstance(value, int):
        return AnyValue(int_value=value)
    return AnyValue(string_value=str(value))


def make_requests(n: int, seed: int = 11) -> list[bytes]:
    """`n` spans (whole traces) as serialized requests of SPANS_PER_REQUEST spans."""
    rng = random.Random(seed)
    by_request: list[dict[str, list[Span]]] = []
    made = 0
    while made < n:
        if made % SPANS_PER_REQUEST == 0:
            by_request.append({})
        trace_id = rng.randbytes(16)
        parent = b""
        at = START_NS + made * 300_000
        for service, name, kind, attributes in _TRACE:
            span_id = rng.randbytes(8)
            duration = int(rng.lognormvariate(1.5, 0.5) * 1e6)
            by_request[-1].setdefault(service, []).append(
                Span(
                    trace_id=trace_id,
                    span_id=span_id,
                    parent_span_id=parent,
                    name=name,
                    kind=kind,
                    start_time_unix_nano=at,
                    end_time_unix_nano=at + duration,
                    attributes=[KeyValue(key=k, value=_value(v)) for k, v in attributes.items()],
                )
            )
            parent, made = span_id, made + 1
            if made % SPANS_PER_REQUEST == 0 or made == n:
                break
    bodies = []
    for services in by_request:
        request = ExportTraceServiceRequest()
        for service, spans in services.items():
            resource_spans = ResourceSpans(scope_spans=[ScopeSpans(spans=spans)])
            resource_spans.resource.attributes.append(
                KeyValue(key="service.name", value=AnyValue(string_value=service))
            )
            request.resource_spans.append(resource_spans)
        bodies.append(request.SerializeToString())
    return bodies


def rows_of(bodies: list[bytes]) -> list[SpanRow]:
    rows: list[SpanRow] = []
    for body in bodies:
        request = ExportTraceServiceRequest.FromString(body)
        rows += rows_from_otlp_request(request).rows
    return rows


async def _through_receivers(
    urls: list[str], dsn: str, bodies: list[bytes], n: int
) -> tuple[float, int]:
    """Seconds from the first request until all `n` spans are rows; 503s met on the way.

    Each sender keeps to one receiver, the senders spread evenly over them.
    """
    queue = list(reversed(bodies))
    busy = 0
    headers = {"Content-Type": "application/x-protobuf"}

    async def sender(url: str) -> None:
        nonlocal busy
        async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as client:
            while queue:
                await _send(client, queue.pop())

    async def _send(client: httpx.AsyncClient, body: bytes) -> None:
        nonlocal busy
        while True:
            response = await client.post("/v1/traces", content=body)
            if response.status_code != 503:
                response.raise_for_status()
                return
            busy += 1  # back-pressure: wait a little (not Retry-After's seconds) and resend
            await asyncio.sleep(0.05)

    conn: asyncpg.Connection = await asyncpg.connect(dsn, timeout=10)
    try:
        started = time.perf_counter()
        await asyncio.gather(*(sender(urls[i % len(urls)]) for i in range(SENDERS)))
        while await conn.fetchval("SELECT count(*) FROM telemetry") < n:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        return time.perf_counter() - started, busy
    finally:
        await conn.close()


def run(ctx: Context) -> Section:
    cfg = ctx.config
    n = cfg.ingest_rows
    section = Section(
        "H",
        f"OTLP ingest: {count(n)} spans in {SPANS_PER_REQUEST}-span protobuf requests, "
        f"{SENDERS} senders",
    )
    print(f"H: generating {count(n)} spans", file=sys.stderr)
    bodies = make_requests(n)
    rows = rows_of(bodies)
    dsn = ctx.db.dsn
    raw_s: list[float] = []
    otlp_s: list[float] = []
    pair_s: list[float] = []
    counts: list[tuple[int, int, int]] = []  # rows in table after (raw, one receiver, two)
    busy: list[tuple[int, int]] = []
    with Fleet(ctx.env) as fleet:
        one = fleet.start("ingest.app:create_app").url
        two = [one, fleet.start("ingest.app:create_app").url]  # as `--scale ingest=2` runs
        ctx.db.truncate()
        asyncio.run(
            raw_copy_seconds(dsn, rows[: cfg.ingest_batch], cfg.ingest_batch)
        )  # warm the table
        for _ in range(cfg.rounds):
            ctx.db.truncate()
            raw_s.append(asyncio.run(raw_copy_seconds(dsn, rows, cfg.ingest_batch)))
            raw_count = ctx.db.count()
            ctx.db.truncate()
            seconds, retried = asyncio.run(_through_receivers([one], dsn, bodies, n))
            otlp_s.append(seconds)
            one_count = ctx.db.count()
            ctx.db.truncate()
            seconds, retried_two = asyncio.run(_through_receivers(two, dsn, bodies, n))
            pair_s.append(seconds)
            busy.append((retried, retried_two))
            counts.append((raw_count, one_count, ctx.db.count()))
        ctx.db.truncate()

    per_round = [r / s for r, s in zip(raw_s, otlp_s, strict=True)]
    otlp_ratio = statistics.median(per_round)
    pair_round = [r / s for r, s in zip(raw_s, pair_s, strict=True)]
    pair_ratio = statistics.median(pair_round)
    section.headers = ["variant", "spans/s (median)", "min..max", "seconds (median)", "vs raw"]
    section.rows = [
        rate_row("raw copy_records_to_table", n, raw_s, 1.0),
        rate_row("POST /v1/traces (protobuf) -> sink", n, otlp_s, otlp_ratio),
        rate_row("the same, two receiver processes", n, pair_s, pair_ratio),
    ]
    section.notes += [
        f"per-round ratios: one receiver {per_round_text(per_round)}, "
        f"two {per_round_text(pair_round)}",
        f"503 + retry per round (one, two receivers): {busy}",
    ]
    section.goals.append(Goal("otlp/raw", otlp_ratio, 0.5))
    section.checks.append(
        Check(
            "rows",
            len(rows) == n and all(c == (n, n, n) for c in counts),
            f"mapped {len(rows)} of {n}; rows in table (raw, one, two receivers): {counts}",
        )
    )
    section.summary = (
        f"**{otlp_ratio:.2f}** ({count(n / statistics.median(otlp_s))} vs "
        f"{count(n / statistics.median(raw_s))} spans/s, one receiver; two receivers "
        f"{pair_ratio:.2f}; every span landed)"
    )
    section.data = {
        "spans": n,
        "spans_per_request": SPANS_PER_REQUEST,
        "senders": SENDERS,
        "raw": {"spans_per_s": round(n / statistics.median(raw_s)), "seconds": _rounded(raw_s)},
        "otlp": {"spans_per_s": round(n / statistics.median(otlp_s)), "seconds": _rounded(otlp_s)},
        "otlp_two": {
            "spans_per_s": round(n / statistics.median(pair_s)),
            "seconds": _rounded(pair_s),
        },
        "retried_503": busy,
        "ratios": {"otlp/raw": round(otlp_ratio, 4), "otlp_two/raw": round(pair_ratio, 4)},
        "ratios_per_round": {
            "otlp/raw": [round(r, 4) for r in per_round],
            "otlp_two/raw": [round(r, 4) for r in pair_round],
        },
    }
    return section


def per_round_text(values: list[float]) -> str:
    return "[" + ", ".join(ratio(v) for v in values) + "]"


def _rounded(seconds: list[float]) -> list[float]:
    return [round(s, 3) for s in seconds]
