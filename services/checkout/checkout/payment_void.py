"""Asking payment to void one payment, and what its answer means for the void."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from pydantic import ValidationError

from aiops_api.shop import UnknownPaymentError, VoidedPayment

from .downstream import DownstreamError, post_json

VOID_ENDPOINT = "/payment/{payment_id}/void"
# Kept as the done void's `last_error`: why it is done though payment voided nothing.
UNKNOWN_TO_PAYMENT = (
    "payment has no such authorization (HTTP 404): it expired past payment's retention "
    "(AIOPS_PAYMENT_RETENTION) or was never recorded; nothing left to void"
)


@dataclass(frozen=True, slots=True)
class VoidAnswer:
    """A void call's outcome: done (`error` None), or failed and to be retried."""

    error: str | None = None  # why the call failed
    unknown: bool = False  # done because payment has no such authorization (see below)

    @property
    def note(self) -> str | None:
        return UNKNOWN_TO_PAYMENT if self.unknown else None


async def request_void(client: httpx.AsyncClient, payment_id: str) -> VoidAnswer:
    """POST /payment/{id}/void.

    Payment's own 404 for this payment (an `UnknownPaymentError` naming it) means
    it holds no authorization under that id: payment deletes authorizations past
    its retention, when their hold has lapsed anyway (payment/retention.py). Retrying
    could never succeed, and nothing is held: the void is done. Any other 404 (a
    wrong AIOPS_PAYMENT_URL answering "Not Found") is a failure, retried like a 5xx.
    """
    try:
        await post_json(
            client, "payment", f"/payment/{payment_id}/void", None,
            answer=VoidedPayment, passed_through={404}, endpoint=VOID_ENDPOINT,
        )  # fmt: skip
    except DownstreamError as exc:
        if exc.status_code != 404:
            return VoidAnswer(error=exc.detail)
        if _names(exc.content, payment_id):
            return VoidAnswer(unknown=True)
        return VoidAnswer(error=f"payment failed with HTTP 404: {exc.detail}")
    return VoidAnswer()


def _names(content: bytes, payment_id: str) -> bool:
    """Whether `content` is payment's unknown-payment answer for `payment_id`."""
    try:
        return UnknownPaymentError.model_validate_json(content).payment_id == payment_id
    except ValidationError:
        return False
