"""The chaos tool reads the shop's answers with aiops_api's models: a real service's fault,
fault list, removals and /health (the app in-process), and a clear StackError for an answer
that does not fit."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest

from aiops_chaos.scenarios import Fault
from aiops_chaos.stack import Stack, StackError, StackSettings
from payment.app import create_app
from payment.settings import PaymentSettings
from tests.support.asgi import lifespan_client

TOKEN = "test-chaos-token"
PORTS = {"checkout": 8001, "payment": 8002, "inventory": 8003, "analyzer": 8004}


def settings(tmp_path: Path) -> StackSettings:
    return StackSettings(tmp_path, PORTS | {"postgres": 5432}, TOKEN, None, None)


async def test_the_chaos_tool_reads_a_real_services_fault_answers(
    database_url: str, tmp_path: Path
) -> None:
    app = create_app(PaymentSettings(database_url=database_url, chaos_token=TOKEN))
    error = Fault(service="payment", kind="error", endpoint="/payment", status=503)
    delay = Fault(service="payment", kind="delay", endpoint="*", duration_ms=1)
    async with lifespan_client(app) as client, Stack(settings(tmp_path), http=client) as stack:
        await stack.wait_healthy("payment", timeout_s=10)  # its /health read as ServiceHealth
        fault_id = await stack.inject(error, ttl_s=30)
        listed = await stack.faults("payment")
        assert listed.service == "payment"
        assert [(f.id, f.kind, f.endpoint, f.status) for f in listed.faults] == [
            (fault_id, "error", "/payment", 503)
        ]
        assert (
            await client.post("/payment", json={"amount": 5, "currency": "USD"})
        ).status_code == 503
        assert await stack.remove_fault("payment", fault_id) is True
        assert await stack.remove_fault("payment", fault_id) is False  # already gone: a 404
        await stack.inject(delay, ttl_s=30)
        await stack.inject(delay, ttl_s=30)
        assert await stack.clear_faults(("payment",)) == {"payment": 2}
        assert (await stack.faults("payment")).faults == []


HANG = Fault(service="payment", kind="hang", endpoint="/payment")


@pytest.mark.parametrize(
    ("answer", "act", "said"),
    [
        (
            {"service": "payment", "fault": {"id": "f1"}},
            lambda stack: stack.inject(HANG, ttl_s=5),
            "payment answered POST /simulate/hang with what this tool does not read "
            "(fault.kind: Field required;",
        ),
        (
            {"removed": 1},
            lambda stack: stack.clear_faults(("payment",)),
            "could not clear every fault: payment answered DELETE /simulate with what this "
            "tool does not read (service: Field required)",
        ),
    ],
)
async def test_an_answer_that_does_not_fit_is_a_stack_error_saying_where(
    tmp_path: Path,
    answer: dict[str, object],
    act: Callable[[Stack], Awaitable[object]],
    said: str,
) -> None:
    """A service of another version (or another program on its port): the tool says what
    it could not read instead of failing on a missing key."""
    transport = httpx.MockTransport(lambda _: httpx.Response(201, json=answer))
    async with (
        httpx.AsyncClient(transport=transport) as client,
        Stack(settings(tmp_path), http=client) as stack,
    ):
        with pytest.raises(StackError) as caught:
            await act(stack)
    assert str(caught.value).startswith(said)
    assert "`make up`" in str(caught.value)


async def test_a_refusal_is_read_as_its_detail(tmp_path: Path) -> None:
    """A 422's field errors and a 403's sentence reach the StackError."""
    replies = iter(
        [
            httpx.Response(
                422, json={"detail": [{"type": "x", "loc": ["query", "rate"], "msg": "too big"}]}
            ),
            httpx.Response(403, json={"detail": "chaos is disabled on this service"}),
        ]
    )
    transport = httpx.MockTransport(lambda _: next(replies))
    fault = Fault(service="payment", kind="error", endpoint="/payment", rate=1.0)
    async with (
        httpx.AsyncClient(transport=transport) as client,
        Stack(settings(tmp_path), http=client) as stack,
    ):
        with pytest.raises(StackError, match=r"\(422\): query\.rate: too big$"):
            await stack.inject(fault, ttl_s=5)
        with pytest.raises(StackError, match=r"\(403: chaos is disabled on this service\)"):
            await stack.inject(fault, ttl_s=5)
