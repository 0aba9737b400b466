"""Schema-based fuzzing of every service on the real compose stack, and hostile trace headers.

Schemathesis reads each service's /openapi.json and sends valid and invalid
requests to every operation: none may earn a 5xx, and every 4xx must say why.
The chaos API comes last, its faults cleared after each service: fuzzed with
the token, it creates faults whose injected 500s would pass for real ones.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import random
import re
from collections.abc import Iterator
from typing import Any

import asyncpg
import httpx
import pytest
import schemathesis
from schemathesis import BaseSchema, Case, CheckContext, Response
from schemathesis.checks import not_a_server_error

from aiops_telemetry.middleware import UNMATCHED
from tests.support.compose import ComposeStack, running_stack
from tests.support.telemetry_rows import wait_for_rows

pytestmark = pytest.mark.e2e

SHOP = ("checkout", "payment", "inventory")  # the analyzer has no chaos API
CHAOS_PATHS = r"^/simulate"
# Seeded and bounded: the same ~7,000 requests every run, a little over a minute.
FUZZING = {
    "generation": {"mode": "all", "max-examples": 100, "deterministic": True, "database": "none"},
    "request-timeout": 15,
    "output": {"sanitization": {"enabled": False}},  # print the curl to reproduce as sent
}
ORDER = json.dumps({"items": [{"sku": "SKU-001", "quantity": 1}], "amount": 5, "currency": "USD"})
FRESH_TRACE_ID = re.compile(r"[0-9a-f]{32}")
KEPT_TRACE_ID = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"  # the only X-Trace-Id a service keeps
TRACE, SPAN = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"


@pytest.fixture(scope="module")
def stack() -> Iterator[ComposeStack]:
    with running_stack() as stack:
        yield stack


def openapi(stack: ComposeStack, service: str) -> BaseSchema:
    config = schemathesis.Config.from_dict(FUZZING)
    return schemathesis.openapi.from_url(f"{stack.url(service)}/openapi.json", config=config)


def chaos_api(stack: ComposeStack, service: str, method: str = "GET") -> httpx.Response:
    headers = {"X-Chaos-Token": stack.chaos_token}
    response = httpx.request(method, f"{stack.url(service)}/simulate", headers=headers)
    return response.raise_for_status()


@pytest.fixture(params=[*SHOP, "analyzer"])
def service_schema(request: pytest.FixtureRequest, stack: ComposeStack) -> BaseSchema:
    # An active fault would answer with injected errors: there must be none.
    assert [f for s in SHOP for f in chaos_api(stack, s).json()["faults"]] == []
    return openapi(stack, request.param)


@pytest.fixture(params=SHOP)
def chaos_schema(request: pytest.FixtureRequest, stack: ComposeStack) -> Iterator[BaseSchema]:
    yield openapi(stack, request.param)
    # Fuzzing with the token leaves faults (up to a 10-minute hang on `*`): clear them all.
    chaos_api(stack, request.param, "DELETE")


@pytest.fixture
def ingest_schema(stack: ComposeStack) -> BaseSchema:
    """The OTLP receiver's API (its port is OTLP_HTTP_PORT, not INGEST_PORT)."""
    config = schemathesis.Config.from_dict(FUZZING)
    url = f"http://127.0.0.1:{stack.ports['OTLP_HTTP_PORT']}/openapi.json"
    return schemathesis.openapi.from_url(url, config=config)


def rejection_says_why(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    """A 4xx carries a JSON object with a non-empty `detail`."""
    if 400 <= response.status_code < 500:
        try:
            detail = response.json().get("detail")
        except (ValueError, AttributeError):
            detail = None
        assert detail, f"{response.status_code} does not say why: {response.text_lossy()[:300]!r}"
    return None


def wrong_method(case: Case[Any]) -> bool:
    # Coverage cases try methods the path lacks: the router answers 405 before anything runs.
    return bool(case.method.upper() != case.operation.method.upper())


def refused(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    """401 without a token, 403 with a wrong one."""
    expected = (405,) if wrong_method(case) else (401, 403)
    assert response.status_code in expected, f"status {response.status_code}, want {expected}"
    return None


def served_or_invalid(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    """2xx, or 422 for invalid parameters (and 404 for a fault id that names no fault)."""
    status = response.status_code
    if wrong_method(case):
        assert status == 405, f"status {status}, want 405"
    elif case.path == "/simulate/{fault_id}":
        assert status in (200, 404, 422), f"status {status}, want 200, 404 or 422"
    else:
        assert 200 <= status < 300 or status == 422, f"status {status}, want 2xx or 422"
    return None


services = schemathesis.pytest.from_fixture("service_schema").exclude(path_regex=CHAOS_PATHS)
chaos = schemathesis.pytest.from_fixture("chaos_schema").include(path_regex=CHAOS_PATHS)


@services.parametrize()
def test_fuzzing_finds_no_server_error_and_every_rejection_says_why(case: Case[Any]) -> None:
    case.call_and_validate(checks=[not_a_server_error, rejection_says_why])


receiver = schemathesis.pytest.from_fixture("ingest_schema")


@receiver.parametrize()
def test_fuzzing_the_otlp_receiver_finds_no_server_error_and_every_rejection_says_why(
    case: Case[Any],
) -> None:
    case.call_and_validate(checks=[not_a_server_error, rejection_says_why])


def post_order(stack: ComposeStack, header: str, value: bytes) -> tuple[int, str | None]:
    """POST /checkout with one raw header: http.client sends bytes that httpx refuses."""
    conn = http.client.HTTPConnection("127.0.0.1", stack.ports["CHECKOUT_PORT"], timeout=30)
    try:
        conn.putrequest("POST", "/checkout")
        conn.putheader(header, value)
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Content-Length", str(len(ORDER)))
        conn.endheaders(ORDER.encode())
        response = conn.getresponse()
        response.read()
        return response.status, response.getheader("x-trace-id")
    finally:
        conn.close()


# uvicorn's parser (httptools) may refuse these before the app runs: a 4xx is fine there.
REFUSABLE = {
    "CR LF (obs-fold)": b"abc\r\n def",
    "bare CR": b"abc\r def",
    "NUL": b"abc\x00def",
    "vertical tab": b"abc\x0bdef",
    "1 MB": b"a" * 1_000_000,
}


@pytest.mark.parametrize("value", REFUSABLE.values(), ids=REFUSABLE.keys())
def test_a_trace_id_the_http_server_refuses_gets_a_4xx_and_checkout_keeps_serving(
    stack: ComposeStack, value: bytes
) -> None:
    status, trace_id = post_order(stack, "X-Trace-Id", value)
    if status == 200:  # the app saw it after all: then it was replaced
        assert trace_id
        assert FRESH_TRACE_ID.fullmatch(trace_id)
    else:
        assert 400 <= status < 500
    assert post_order(stack, "X-Trace-Id", b"after-refusal") == (200, "after-refusal")


HOSTILE = [
    ("X-Trace-Id", b"a" * 10_000),
    ("X-Trace-Id", b"a" * 65),
    ("X-Trace-Id", b"'; DROP TABLE telemetry;--"),
    ("X-Trace-Id", b"abc%0D%0ASet-Cookie: x=1"),
    ("X-Trace-Id", b"abc\tdef"),
    ("X-Trace-Id", b"caf\xe9\xff"),  # latin-1
    ("X-Trace-Id", "a\u2028b\u2029c\u0085d".encode()),  # Unicode line breaks, as UTF-8
    ("X-Trace-Id", b"-abc"),
    ("traceparent", f"00-{TRACE}-{SPAN}-01-".encode() + b"f" * 10_000),
    ("traceparent", f"00-{TRACE.upper()}-{SPAN}-01".encode()),
    ("traceparent", f"00-{'0' * 32}-{SPAN}-01".encode()),
    ("traceparent", f"ff-{TRACE}-{SPAN}-01".encode()),
    ("traceparent", f"00-{TRACE}-{SPAN[1:]}-01".encode()),
    ("traceparent", f"00-{TRACE}-'; DROP TABLE telemetry;--".encode()),
    ("traceparent", f"00-{TRACE}-{SPAN}-01\u2028".encode()),
]


async def test_hostile_trace_headers_get_a_fresh_trace_id_and_never_reach_telemetry(
    stack: ComposeStack,
) -> None:
    answers = [await asyncio.to_thread(post_order, stack, *sent) for sent in HOSTILE]
    assert [status for status, _ in answers] == [200] * len(HOSTILE), answers
    fresh = [trace_id or "" for _, trace_id in answers]
    assert [t for t in fresh if not FRESH_TRACE_ID.fullmatch(t) or t == TRACE] == []
    async with stack.database() as conn:
        where = "trace_id = ANY($1::text[]) AND service_name = 'checkout' AND kind = 'server'"
        rows = await wait_for_rows(conn, where, fresh, count=len(fresh))
        assert [r["parent_span_id"] for r in rows] == [None] * len(fresh)  # no span adopted
        # The middleware reads header bytes as latin-1: that is how a leak would be stored.
        hostile = [value.decode("latin-1") for _, value in HOSTILE] + [TRACE]
        leaked = await conn.fetch(
            "SELECT DISTINCT trace_id FROM telemetry WHERE trace_id = ANY($1::text[]) "
            "OR trace_id !~ $2",
            hostile,
            KEPT_TRACE_ID,
        )
        assert leaked == []


def test_a_traceparent_with_a_trailing_non_ascii_byte_is_ignored(stack: ComposeStack) -> None:
    other = "0af7651916cd43dd8448eb211c80319c"  # not TRACE: its rows would count as a leak
    traceparent = f"00-{other}-{SPAN}-01".encode() + b"\x85"  # NEL in latin-1: str.strip() eats it
    status, trace_id = post_order(stack, "traceparent", traceparent)
    assert status == 200
    assert trace_id is not None
    assert FRESH_TRACE_ID.fullmatch(trace_id)
    assert trace_id != other


async def endpoint_labels(conn: asyncpg.Connection) -> set[str]:
    sql = "SELECT DISTINCT endpoint FROM telemetry WHERE service_name = 'checkout'"
    return {row["endpoint"] for row in await conn.fetch(sql)}


async def test_unknown_paths_get_404_and_add_at_most_the_unmatched_endpoint_label(
    stack: ComposeStack,
) -> None:
    rng = random.Random(404)
    paths = [f"/scan/{rng.randbytes(8).hex()}" for _ in range(200)]
    async with stack.database() as conn:
        async with httpx.AsyncClient(base_url=stack.url("checkout"), timeout=30) as client:
            # The sink writes in order: once this row is in, every earlier one is.
            barrier = (await client.post("/checkout", json={})).headers["x-trace-id"]
            assert await wait_for_rows(conn, "trace_id = $1", barrier, count=1)
            before = await endpoint_labels(conn)
            answers = await asyncio.gather(*(client.get(path) for path in paths))
        assert [a.status_code for a in answers] == [404] * len(paths)
        trace_ids = [a.headers["x-trace-id"] for a in answers]
        rows = await wait_for_rows(conn, "trace_id = ANY($1::text[])", trace_ids, count=200)
        assert [r["endpoint"] for r in rows] == [UNMATCHED] * len(paths)
        count = "SELECT count(DISTINCT endpoint) FROM telemetry WHERE service_name = 'checkout'"
        assert await conn.fetchval(count) <= len(before) + 1
        assert await endpoint_labels(conn) - before <= {UNMATCHED}


@chaos.parametrize()
def test_fuzzed_chaos_requests_without_the_token_are_refused(case: Case[Any]) -> None:
    # A generated X-Chaos-Token is a wrong one (403); none at all is a 401.
    case.call_and_validate(checks=[not_a_server_error, rejection_says_why, refused])


@chaos.parametrize()
def test_fuzzed_chaos_requests_with_the_token_are_served_or_rejected_as_invalid(
    case: Case[Any], stack: ComposeStack
) -> None:
    case.call_and_validate(
        headers={"X-Chaos-Token": stack.chaos_token},
        checks=[not_a_server_error, rejection_says_why, served_or_invalid],
    )
