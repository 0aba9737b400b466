from __future__ import annotations

import uuid
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Depends, FastAPI, Query, Request, status
from fastapi.responses import JSONResponse

from aiops_api.shop import (
    CheckoutError,
    CheckoutRequest,
    ErrorBody,
    Order,
    PaymentRequest,
    PaymentResponse,
    PaymentVoids,
    Reservation,
    ReserveRequest,
    VoidStatus,
)
from aiops_telemetry import DATABASE_UNAVAILABLE, WorkDep, current_trace_id

from .compensation import Compensator
from .downstream import DownstreamError, post_json

router = APIRouter()


class Downstream:
    """The clients for the services checkout calls."""

    def __init__(self, payment: httpx.AsyncClient, inventory: httpx.AsyncClient) -> None:
        self.payment = payment
        self.inventory = inventory


class LedgerUnavailable(Exception):
    pass


# async: a plain `def` dependency runs in the threadpool on every request
async def get_downstream(request: Request) -> Downstream:
    downstream: Downstream = request.state.downstream
    return downstream


async def get_compensator(request: Request) -> Compensator:
    compensator: Compensator = request.state.compensator
    return compensator


DownstreamDep = Annotated[Downstream, Depends(get_downstream)]
CompensatorDep = Annotated[Compensator, Depends(get_compensator)]


async def database_check(request: Request) -> str:
    compensator: Compensator = request.state.compensator
    return await compensator.database_status()


async def payment_voids_check(request: Request) -> str:
    compensator: Compensator = request.state.compensator
    return await compensator.status()


HEALTH_CHECKS = {"database": database_check, "payment_voids": payment_voids_check}


def _failure(description: str) -> dict[str, Any]:
    return {"model": CheckoutError, "description": description}


@router.post(
    "/checkout",
    responses={
        402: _failure("payment declined"),
        404: _failure("unknown SKU (the payment is voided)"),
        409: _failure("insufficient stock (the payment is voided)"),
        413: {"model": ErrorBody, "description": "request body too large"},
        502: _failure("a downstream service failed"),
        503: _failure("a downstream service is unreachable"),
        504: _failure("a downstream service timed out"),
    },
)
async def checkout(
    order: CheckoutRequest, downstream: DownstreamDep, compensator: CompensatorDep, work: WorkDep
) -> Order:
    """Take payment, then reserve the items; if the reservation fails, void the payment."""
    await work()
    payment_request = PaymentRequest(
        amount=order.amount, currency=order.currency, card_token=order.card_token
    )
    payment = await post_json(
        downstream.payment, "payment", "/payment", payment_request.model_dump(exclude_none=True),
        answer=PaymentResponse, passed_through={402},
    )  # fmt: skip
    order_id = f"ord_{uuid.uuid4().hex[:16]}"
    try:
        reservation = await post_json(
            downstream.inventory, "inventory", "/inventory/reserve",
            ReserveRequest(items=order.items).model_dump(),
            answer=Reservation, passed_through={404, 409},
        )  # fmt: skip
    except DownstreamError as failure:
        failure.payment = await compensator.void_after_failure(
            payment_id=payment.payment_id,
            order_id=order_id,
            reason=f"{failure.service}: {failure.detail}",
        )
        raise
    return Order(
        order_id=order_id,
        status="confirmed",
        payment_id=payment.payment_id,
        reservation_id=reservation.reservation_id,
        items=order.items,
        amount=order.amount,
        currency=order.currency,
        trace_id=current_trace_id(),
    )


@router.get(
    "/payment-voids",
    responses={503: {"model": ErrorBody, "description": "checkout's database is unavailable"}},
)
async def payment_voids(
    compensator: CompensatorDep,
    void_status: Annotated[
        VoidStatus | None, Query(alias="status", description="only voids in this state")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> PaymentVoids:
    """Payments of failed orders that checkout voided or is still voiding, newest first."""
    try:
        return await compensator.listing(status=void_status, limit=limit)
    except DATABASE_UNAVAILABLE as exc:
        raise LedgerUnavailable(type(exc).__name__) from exc


def register_error_handlers(app: FastAPI) -> None:
    async def downstream_failed(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, DownstreamError)
        body = CheckoutError(
            detail=exc.detail, service=exc.service, trace_id=current_trace_id(), payment=exc.payment
        )
        # `payment` only when the order had one: a failure before it had none to void.
        exclude = {"payment"} if exc.payment is None else None
        return JSONResponse(
            body.model_dump(mode="json", exclude=exclude), status_code=exc.status_code
        )

    async def ledger_unavailable(_: Request, exc: Exception) -> JSONResponse:
        body = ErrorBody(
            detail=f"checkout database unavailable ({exc}); retry shortly",
            trace_id=current_trace_id(),
        )
        return JSONResponse(body.model_dump(mode="json"), status.HTTP_503_SERVICE_UNAVAILABLE)

    app.add_exception_handler(DownstreamError, downstream_failed)
    app.add_exception_handler(LedgerUnavailable, ledger_unavailable)
