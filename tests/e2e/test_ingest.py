"""The OTLP receiver on the real compose stack: spans land, metrics are watched, and no body
breaks it."""

from __future__ import annotations

import gzip
import json
import uuid
from collections.abc import Iterator

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.ingest import metric_requests as metrics
from tests.ingest import otlp_requests as otlp
from tests.support.compose import ComposeStack, running_stack
from tests.support.polling import eventually
from tests.support.telemetry_rows import wait_for_rows

pytestmark = pytest.mark.e2e

JSON = {"Content-Type": "application/json"}
PROTOBUF = {"Content-Type": "application/x-protobuf"}


@pytest.fixture(scope="module")
def stack() -> Iterator[ComposeStack]:
    with running_stack() as stack:
        yield stack


def traces_url(stack: ComposeStack) -> str:
    return f"http://127.0.0.1:{stack.ports['OTLP_HTTP_PORT']}/v1/traces"


async def test_an_otlp_json_post_lands_its_spans_in_the_table_within_seconds(
    stack: ComposeStack,
) -> None:
    service = f"otlp-e2e-{uuid.uuid4().hex[:8]}"
    trace = otlp.trace_id()
    root = otlp.span(trace, "GET /orders/{id}", attributes={"http.route": "/orders/{id}"})
    call = otlp.span(
        trace, "GET", kind=otlp.CLIENT, parent=root.span_id, attributes={"peer.service": "stock"}
    )
    body = json.dumps(otlp.as_json(otlp.request({service: [root, call]})))
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.post(traces_url(stack), content=body, headers=JSON)
    assert (response.status_code, response.json()) == (200, {})
    async with stack.database() as conn:
        rows = await wait_for_rows(conn, "service_name = $1", service, count=2, timeout=10)
    assert sorted((r["kind"], r["endpoint"], r["peer_service"]) for r in rows) == [
        ("client", "GET", "stock"),
        ("server", "/orders/{id}", None),
    ]


def valid_protobuf() -> bytes:
    return otlp.request({"fuzz": [otlp.span(otlp.trace_id())]}).SerializeToString()


@st.composite
def corrupt_protobuf(draw: st.DrawFn) -> bytes:
    body = bytearray(valid_protobuf())
    for _ in range(draw(st.integers(1, 8))):
        body[draw(st.integers(0, len(body) - 1))] = draw(st.integers(0, 255))
    return bytes(body[: draw(st.integers(0, len(body)))])


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=30,
)
bodies = st.one_of(
    st.binary(max_size=512),
    corrupt_protobuf(),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries({"resourceSpans": st.lists(json_values, max_size=3)}).map(
        lambda v: json.dumps(v).encode()
    ),
)
content_types = st.sampled_from(
    ["application/json", "application/x-protobuf", "application/protobuf", "text/plain", ""]
)
encodings = st.sampled_from(["", "gzip", "gzip-cut", "deflate"])


def encoded(body: bytes, encoding: str) -> tuple[bytes, dict[str, str]]:
    if encoding == "gzip":
        return gzip.compress(body), {"Content-Encoding": "gzip"}
    if encoding == "gzip-cut":
        return gzip.compress(body)[:-5], {"Content-Encoding": "gzip"}
    if encoding:
        return body, {"Content-Encoding": encoding}
    return body, {}


@settings(
    max_examples=400,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=bodies, content_type=content_types, encoding=encodings)
def test_random_and_corrupt_bodies_get_no_5xx_and_every_refusal_says_why(
    stack: ComposeStack, body: bytes, content_type: str, encoding: str
) -> None:
    data, headers = encoded(body, encoding)
    if content_type:
        headers["Content-Type"] = content_type
    response = httpx.post(traces_url(stack), content=data, headers=headers, timeout=30)
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.json()["detail"], response.text


def test_the_receiver_keeps_serving_after_the_fuzzing(stack: ComposeStack) -> None:
    response = httpx.post(traces_url(stack), content=valid_protobuf(), headers=PROTOBUF)
    assert response.status_code == 200
    health = httpx.get(traces_url(stack).replace("/v1/traces", "/health"), timeout=5).json()
    assert (health["service"], health["status"]) == ("ingest", "ok")
    assert health["refused_requests"]  # the fuzzing was refused, and counted


async def test_a_metric_sent_over_otlp_is_watched_by_the_analyzer(stack: ComposeStack) -> None:
    """OTLP/JSON gauge points to the stack's receiver: within its lateness and a cycle, the
    analyzer lists the series with its last point judged (`GET /metric-series`)."""
    service = f"metrics-e2e-{uuid.uuid4().hex[:8]}"
    series = f"{service}:queue.depth{{queue=orders}}"
    # Dated now: the analyzer judges points newer than its metric cursor (now - lateness).
    start = metrics.now_ns() - 6 * 10**9
    points = [
        metrics.number(float(depth), at=start + i * 10**9, attributes={"queue": "orders"})
        for i, depth in enumerate((3, 4, 5, 4, 3, 4))
    ]
    body = json.dumps(
        metrics.as_json(metrics.request({service: [metrics.gauge("queue.depth", *points)]}))
    )
    url = f"http://127.0.0.1:{stack.ports['OTLP_HTTP_PORT']}/v1/metrics"
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.post(url, content=body, headers=JSON)
        assert (response.status_code, response.json()) == (200, {})

        async def listed() -> dict[str, object] | None:
            answer = await client.get(f"{stack.url('analyzer')}/metric-series")
            answer.raise_for_status()
            mine = [s for s in answer.json() if s["series"] == series]
            return mine[0] if mine and mine[0]["at"] is not None else None

        watched = await eventually(listed, within=90, what="the series in /metric-series")
    assert watched["service"] == service
    assert watched["value"] == 4.0
