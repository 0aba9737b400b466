"""Asking payment to void one payment, or one order's, and what its answer means for the void."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from pydantic import ValidationError

from aiops_api.shop import UnknownPaymentError, VoidedOrder, VoidedPayment

from .downstream import DownstreamError, post_json
from .voids import PendingVoid

VOID_ENDPOINT = "/payment/{payment_id}/void"
ORDER_VOID_ENDPOINT = "/payment/orders/{order_id}/void"
# Kept as the done void's `last_error`: why it is done though payment voided nothing.
UNKNOWN_TO_PAYMENT = (
    "payment has no such authorization (HTTP 404): it expired past payment's retention "
    "(AIOPS_PAYMENT_RETENTION) or was never recorded; nothing left to void"
)
NOTHING_FOR_ORDER = (
    "payment had authorized nothing for this order; it refuses any later authorization for it"
)


@dataclass(frozen=True, slots=True)
class VoidAnswer:
    """A void call's outcome: done (`error` None), or failed and to be retried."""

    error: str | None = None  # why the call failed
    unknown: bool = False  # done because payment has no such authorization (see below)
    payment_id: str | None = None  # the payment voided, as payment named it
    nothing_for_order: bool = False  # an order's void: payment had authorized nothing for it

    @property
    def note(self) -> str | None:
        if self.unknown:
            return UNKNOWN_TO_PAYMENT
        return NOTHING_FOR_ORDER if self.nothing_for_order else None


async def request_void(client: httpx.AsyncClient, void: PendingVoid) -> VoidAnswer:
    """POST /payment/{id}/void, or POST /payment/orders/{order_id}/void without a payment id.

    Payment's own 404 for this payment (an `UnknownPaymentError` naming it) means
    it holds no authorization under that id: payment deletes authorizations past
    its retention, when their hold has lapsed anyway (payment/retention.py). Retrying
    could never succeed, and nothing is held: the void is done. Any other 404 (a
    wrong AIOPS_PAYMENT_URL answering "Not Found") is a failure, retried like a 5xx.
    An order's void never answers 404: payment voids what it has for the order, if
    anything, and refuses any authorization for it from then on.
    """
    if void.payment_id is None:
        return await _void_order(client, void.order_id)
    payment_id = void.payment_id
    try:
        await post_json(
            client, "payment", f"/payment/{payment_id}/void", None,
            answer=VoidedPayment, passed_through={404}, endpoint=VOID_ENDPOINT,
        )  # fmt: skip
    except DownstreamError as exc:
        if exc.status_code != 404:
            return VoidAnswer(error=exc.detail)
        if _names(exc.content, payment_id):
            return VoidAnswer(unknown=True, payment_id=payment_id)
        return VoidAnswer(error=f"payment failed with HTTP 404: {exc.detail}")
    return VoidAnswer(payment_id=payment_id)


async def _void_order(client: httpx.AsyncClient, order_id: str) -> VoidAnswer:
    try:
        voided = await post_json(
            client, "payment", f"/payment/orders/{order_id}/void", None,
            answer=VoidedOrder, endpoint=ORDER_VOID_ENDPOINT,
        )  # fmt: skip
    except DownstreamError as exc:
        return VoidAnswer(error=exc.detail)
    return VoidAnswer(payment_id=voided.payment_id, nothing_for_order=voided.payment_id is None)


def _names(content: bytes, payment_id: str) -> bool:
    """Whether `content` is payment's unknown-payment answer for `payment_id`."""
    try:
        return UnknownPaymentError.model_validate_json(content).payment_id == payment_id
    except ValidationError:
        return False
