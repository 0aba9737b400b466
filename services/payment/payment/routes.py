from __future__ import annotations

import uuid

from fastapi import APIRouter, HTTPException, status

from aiops_telemetry import WorkDep

from .schemas import PaymentRequest, PaymentResponse

DECLINED_TOKEN = "tok_declined"  # noqa: S105 (a test card, not a secret)

router = APIRouter()


@router.post(
    "/payment",
    responses={402: {"description": "card declined"}},
)
async def authorize_payment(payment: PaymentRequest, work: WorkDep) -> PaymentResponse:
    """Authorize a payment."""
    await work()
    if payment.card_token == DECLINED_TOKEN:
        raise HTTPException(status.HTTP_402_PAYMENT_REQUIRED, "card declined")
    return PaymentResponse(
        payment_id=f"pay_{uuid.uuid4().hex[:16]}",
        status="authorized",
        amount=payment.amount,
        currency=payment.currency,
    )
