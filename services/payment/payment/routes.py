from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, status

from aiops_api.shop import (
    ErrorBody,
    OrderConflictError,
    OrderId,
    PaymentId,
    PaymentRequest,
    PaymentResponse,
    UnknownPaymentError,
    VoidedOrder,
    VoidedPayment,
)
from aiops_telemetry import DatabaseDep, ErrorAnswers, WorkDep, current_trace_id

from . import repository
from .orders import OrderConflict, void_order
from .repository import AuthorizationUnknown, UnknownPayment

DECLINED_TOKEN = "tok_declined"  # noqa: S105 (a test card, not a secret)

router = APIRouter()

Responses = dict[int | str, dict[str, Any]]
UNAVAILABLE: Responses = {
    503: {
        "model": ErrorBody,
        "description": "payment's database is unavailable; nothing was done: retry shortly",
    }
}


class CardDeclined(Exception):
    pass


@router.post(
    "/payment",
    responses={
        402: {"model": ErrorBody, "description": "card declined"},
        409: {
            "model": OrderConflictError,
            "description": "the order was voided, or paid otherwise",
        },
        413: {"model": ErrorBody, "description": "request body too large"},
        500: {
            "model": ErrorBody,
            "description": "the database failed during the commit: the authorization may be "
            "recorded (void the order to be sure)",
        },
        **UNAVAILABLE,
    },
)
async def authorize_payment(
    payment: PaymentRequest, db: DatabaseDep, work: WorkDep
) -> PaymentResponse:
    """Authorize a payment: the amount is held until the payment is voided.

    With an `order_id`, at most once per order: the same request again answers the same
    authorization, and a voided order's authorization is refused (409).
    """
    await work()
    if payment.card_token == DECLINED_TOKEN:
        raise CardDeclined
    return await repository.authorize(db, payment, trace_id=current_trace_id())


@router.post(
    "/payment/{payment_id}/void",
    responses={
        404: {"model": UnknownPaymentError, "description": "no such payment"},
        **UNAVAILABLE,
    },
)
async def void_payment(
    payment_id: Annotated[PaymentId, Path(description="as `POST /payment` answered it")],
    db: DatabaseDep,
    work: WorkDep,
) -> VoidedPayment:
    """Void an authorization. Idempotent: voiding a voided payment answers as the first void did."""
    await work()
    return await repository.void(db, payment_id)


@router.post("/payment/orders/{order_id}/void", responses=UNAVAILABLE)
async def void_payment_order(
    order_id: Annotated[OrderId, Path(description="as the caller sent it in `POST /payment`")],
    db: DatabaseDep,
    work: WorkDep,
) -> VoidedOrder:
    """Void whatever payment holds for an order, and refuse any later authorization for it.

    For a caller that does not know whether payment authorized (its call got no answer):
    the order's authorization is voided if there is one; if there is none yet, one that
    arrives later is refused. Idempotent: voiding a voided order answers the same again.
    """
    await work()
    return await void_order(db, order_id, trace_id=current_trace_id())


ERRORS = (
    ErrorAnswers()
    .add(
        CardDeclined,
        status.HTTP_402_PAYMENT_REQUIRED,
        lambda _: ErrorBody(detail="card declined", trace_id=current_trace_id()),
    )
    .add(
        UnknownPayment,
        status.HTTP_404_NOT_FOUND,
        lambda exc: UnknownPaymentError(
            detail=str(exc), payment_id=exc.payment_id, trace_id=current_trace_id()
        ),
    )
    .add(
        OrderConflict,
        status.HTTP_409_CONFLICT,
        lambda exc: OrderConflictError(
            detail=str(exc),
            order_id=exc.order_id,
            payment_id=exc.payment_id,
            trace_id=current_trace_id(),
        ),
    )
    .add(
        AuthorizationUnknown,
        status.HTTP_500_INTERNAL_SERVER_ERROR,
        lambda exc: ErrorBody(detail=str(exc), trace_id=current_trace_id()),
    )
)
