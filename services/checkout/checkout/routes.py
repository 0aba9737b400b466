from __future__ import annotations

import uuid
from typing import Annotated

import httpx
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse

from aiops_telemetry import WorkDep, current_trace_id

from .downstream import DownstreamError, post_json
from .schemas import CheckoutRequest, Order, PaymentAnswer, ReservationAnswer

router = APIRouter()


class Downstream:
    """The clients for the services checkout calls."""

    def __init__(self, payment: httpx.AsyncClient, inventory: httpx.AsyncClient) -> None:
        self.payment = payment
        self.inventory = inventory


# async: a plain `def` dependency runs in the threadpool on every request
async def get_downstream(request: Request) -> Downstream:
    downstream: Downstream = request.state.downstream
    return downstream


DownstreamDep = Annotated[Downstream, Depends(get_downstream)]


@router.post(
    "/checkout",
    responses={
        402: {"description": "payment declined"},
        404: {"description": "unknown SKU"},
        409: {"description": "insufficient stock"},
        502: {"description": "a downstream service failed"},
        503: {"description": "a downstream service is unreachable"},
        504: {"description": "a downstream service timed out"},
    },
)
async def checkout(order: CheckoutRequest, downstream: DownstreamDep, work: WorkDep) -> Order:
    """Take payment, then reserve the items."""
    await work()
    payment_body = order.model_dump(include={"amount", "currency", "card_token"}, exclude_none=True)
    payment = await post_json(
        downstream.payment, "payment", "/payment", payment_body,
        answer=PaymentAnswer, passed_through={402},
    )  # fmt: skip
    items = [line.model_dump() for line in order.items]
    reservation = await post_json(
        downstream.inventory, "inventory", "/inventory/reserve", {"items": items},
        answer=ReservationAnswer, passed_through={404, 409},
    )  # fmt: skip
    return Order(
        order_id=f"ord_{uuid.uuid4().hex[:16]}",
        status="confirmed",
        payment_id=payment.payment_id,
        reservation_id=reservation.reservation_id,
        items=items,
        amount=order.amount,
        currency=order.currency,
        trace_id=current_trace_id(),
    )


def register_error_handlers(app: FastAPI) -> None:
    async def downstream_failed(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, DownstreamError)
        return JSONResponse(
            {"detail": exc.detail, "service": exc.service, "trace_id": current_trace_id()},
            status_code=exc.status_code,
        )

    app.add_exception_handler(DownstreamError, downstream_failed)
