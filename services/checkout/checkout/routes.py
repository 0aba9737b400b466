from __future__ import annotations

import uuid
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Query, Request

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
from aiops_telemetry import ErrorAnswers, WorkDep, annotate, current_trace_id, from_state

from .compensation import Compensator
from .downstream import DownstreamError, post_json

router = APIRouter()


class Downstream:
    """The clients for the services checkout calls."""

    def __init__(self, payment: httpx.AsyncClient, inventory: httpx.AsyncClient) -> None:
        self.payment = payment
        self.inventory = inventory


DownstreamDep = Annotated[Downstream, from_state("downstream")]
CompensatorDep = Annotated[Compensator, from_state("compensator")]


async def payment_voids_check(request: Request) -> str:
    compensator: Compensator = request.state.compensator
    return await compensator.status()


# Besides `database`, which every service with a database has.
HEALTH_CHECKS = {"payment_voids": payment_voids_check}


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
    """Take payment, then reserve the items; if the reservation fails, void the payment.

    When payment did not answer (it may have authorized after checkout gave up), the
    order is voided at payment: whatever it authorized for it is voided, or refused.
    """
    await work()
    order_id = f"ord_{uuid.uuid4().hex[:16]}"
    try:
        payment = await _pay(order, order_id, downstream, compensator)
        reservation = await _reserve(order, order_id, payment, downstream, compensator)
    except DownstreamError as failure:
        failure.order_id = order_id
        raise
    annotate("order.amount", order.amount)  # revenue, for the analyzer's business metrics
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


async def _pay(
    order: CheckoutRequest, order_id: str, downstream: Downstream, compensator: Compensator
) -> PaymentResponse:
    payment_request = PaymentRequest(
        amount=order.amount, currency=order.currency, card_token=order.card_token, order_id=order_id
    )
    body = payment_request.model_dump(exclude_none=True)
    try:
        return await post_json(
            downstream.payment, "payment", "/payment", body,
            answer=PaymentResponse, passed_through={402},
        )  # fmt: skip
    except DownstreamError as failure:
        if failure.maybe_done:  # authorized, perhaps, under an id checkout never learnt
            failure.payment = await compensator.void_after_failure(
                order_id=order_id, payment_id=None, reason=f"payment: {failure.detail}"
            )
        raise


async def _reserve(
    order: CheckoutRequest,
    order_id: str,
    payment: PaymentResponse,
    downstream: Downstream,
    compensator: Compensator,
) -> Reservation:
    try:
        return await post_json(
            downstream.inventory, "inventory", "/inventory/reserve",
            ReserveRequest(items=order.items).model_dump(),
            answer=Reservation, passed_through={404, 409},
        )  # fmt: skip
    except DownstreamError as failure:
        failure.payment = await compensator.void_after_failure(
            order_id=order_id,
            payment_id=payment.payment_id,
            reason=f"{failure.service}: {failure.detail}",
        )
        raise


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
    return await compensator.listing(status=void_status, limit=limit)


def _checkout_error(exc: DownstreamError) -> CheckoutError:
    body = CheckoutError(
        detail=exc.detail, service=exc.service, trace_id=current_trace_id(), order_id=exc.order_id
    )
    # `payment` only when the order had one: a failure before it had none to void.
    return body if exc.payment is None else body.model_copy(update={"payment": exc.payment})


ERRORS = ErrorAnswers().add(DownstreamError, lambda exc: exc.status_code, _checkout_error)
