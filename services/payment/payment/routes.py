from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Path, Request, status
from fastapi.responses import JSONResponse

from aiops_api.shop import (
    ErrorBody,
    PaymentId,
    PaymentRequest,
    PaymentResponse,
    UnknownPaymentError,
    VoidedPayment,
)
from aiops_telemetry import DATABASE_UNAVAILABLE, WorkDep, current_trace_id

from . import repository
from .repository import PaymentDatabase, UnknownPayment

DECLINED_TOKEN = "tok_declined"  # noqa: S105 (a test card, not a secret)

router = APIRouter()

UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {"model": ErrorBody, "description": "payment's database is unavailable; retry shortly"}
}


class CardDeclined(Exception):
    pass


# async: a plain `def` dependency runs in the threadpool on every request
async def get_payment_db(request: Request) -> PaymentDatabase:
    db: PaymentDatabase = request.state.db
    return db


DbDep = Annotated[PaymentDatabase, Depends(get_payment_db)]


@router.post(
    "/payment",
    responses={
        402: {"model": ErrorBody, "description": "card declined"},
        413: {"model": ErrorBody, "description": "request body too large"},
        **UNAVAILABLE,
    },
)
async def authorize_payment(payment: PaymentRequest, db: DbDep, work: WorkDep) -> PaymentResponse:
    """Authorize a payment: the amount is held until the payment is voided."""
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
    db: DbDep,
    work: WorkDep,
) -> VoidedPayment:
    """Void an authorization. Idempotent: voiding a voided payment answers as the first void did."""
    await work()
    return await repository.void(db, payment_id)


def _error(status_code: int, body: ErrorBody) -> JSONResponse:
    return JSONResponse(body.model_dump(mode="json"), status_code=status_code)


def register_error_handlers(app: FastAPI) -> None:
    async def card_declined(_: Request, exc: Exception) -> JSONResponse:
        body = ErrorBody(detail="card declined", trace_id=current_trace_id())
        return _error(status.HTTP_402_PAYMENT_REQUIRED, body)

    async def unknown_payment(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, UnknownPayment)
        body = UnknownPaymentError(
            detail=str(exc), payment_id=exc.payment_id, trace_id=current_trace_id()
        )
        return _error(status.HTTP_404_NOT_FOUND, body)

    async def database_unavailable(_: Request, exc: Exception) -> JSONResponse:
        detail = f"payment database unavailable ({type(exc).__name__}); retry shortly"
        return _error(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            ErrorBody(detail=detail, trace_id=current_trace_id()),
        )

    app.add_exception_handler(CardDeclined, card_declined)
    app.add_exception_handler(UnknownPayment, unknown_payment)
    for exc_type in DATABASE_UNAVAILABLE:
        app.add_exception_handler(exc_type, database_unavailable)
