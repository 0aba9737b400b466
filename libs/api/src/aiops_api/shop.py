"""The shop's HTTP API: what checkout, payment and inventory accept and answer.

Requests forbid unknown fields (a typo is a 422, not an ignored option);
answers (`ApiModel`s) ignore them, so a reader keeps working when a service
adds a field. Every error the shop answers itself is an `ErrorBody` (the
common `ErrorDetail` and the request's trace id, or a subclass adding the
facts of that error); FastAPI's own 422 keeps its standard shape.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from .common import ApiModel, ErrorDetail

Sku = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
# Any id safe in a path: one the service never issued is a 404 that says so, not a 422.
PaymentId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
# The caller's id for an order (checkout's `ord_…`): payment authorizes at most once per order.
OrderId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
Amount = Annotated[float, Field(gt=0, le=1_000_000, allow_inf_nan=False)]
Quantity = Annotated[int, Field(ge=1, le=1000)]
CardToken = Annotated[str, StringConstraints(min_length=1, max_length=128)]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


# Errors


class ErrorBody(ErrorDetail):
    """An error answer: what went wrong, and the trace to look the request up by."""

    trace_id: str | None = None


class UnknownSkuError(ErrorBody):
    sku: str


class InsufficientStockError(ErrorBody):
    sku: str
    requested: int
    available: int


class UnknownPaymentError(ErrorBody):
    payment_id: str


class OrderConflictError(ErrorBody):
    """`POST /payment` for an order payment will not authorize (again): the order was voided,
    or it already has a payment for another amount or currency."""

    order_id: str
    payment_id: str | None = Field(None, description="the order's payment, when it has one")


# Inventory


class StockItem(ApiModel):
    sku: str
    name: str
    unit_price: float
    quantity: int


class OrderLine(_Request):
    sku: Sku
    quantity: Quantity


class ReserveRequest(_Request):
    items: Annotated[list[OrderLine], Field(min_length=1, max_length=50)]


class ReservedLine(ApiModel):
    """A reserved SKU; repeated lines of one SKU are summed, so no per-line cap applies."""

    sku: str
    quantity: int


class Reservation(ApiModel):
    reservation_id: str
    items: list[ReservedLine]


# Payment


class PaymentRequest(_Request):
    amount: Amount
    currency: Currency = Field(description="ISO 4217 code, e.g. USD")
    card_token: CardToken | None = Field(
        None, description="`tok_declined` simulates a declined card"
    )
    order_id: OrderId | None = Field(
        None,
        description=(
            "the caller's order: at most one authorization per order. The same request again "
            "answers that authorization again; once the order is voided "
            "(`POST /payment/orders/{order_id}/void`), any authorization for it is refused (409)"
        ),
    )


class PaymentResponse(ApiModel):
    """An authorization: the amount is held until the payment is voided."""

    payment_id: PaymentId
    status: Literal["authorized"]
    amount: float
    currency: str
    order_id: str | None = None


class VoidedPayment(ApiModel):
    """A voided authorization: nothing is held any more. Voiding it again answers the same."""

    payment_id: str
    status: Literal["voided"]
    amount: float
    currency: str
    voided_at: datetime


class VoidedOrder(ApiModel):
    """An order payment holds nothing for, and never will: its authorization voided, if it
    had one, and any later authorization for it refused. Voiding it again answers the same."""

    order_id: str
    status: Literal["voided"]
    payment_id: str | None = Field(
        description="the order's authorization, now voided; null when payment had none for it"
    )
    voided_at: datetime = Field(description="when the order was first voided")


# Checkout


class CheckoutRequest(_Request):
    items: Annotated[list[OrderLine], Field(min_length=1, max_length=50)]
    amount: Amount
    currency: Currency
    card_token: CardToken | None = None


class Order(ApiModel):
    order_id: str
    status: Literal["confirmed"]
    payment_id: str
    reservation_id: str
    items: list[OrderLine]
    amount: float
    currency: str
    trace_id: str | None


VoidOutcome = Literal["voided", "void_pending"]


class OrderPayment(ApiModel):
    """An order's payment after the order failed: voided, or void pending (checkout retries)."""

    id: str | None = Field(
        description=(
            "null when payment did not answer the authorization: checkout voids the order "
            "at payment, whether payment authorized it or not"
        )
    )
    status: VoidOutcome


class CheckoutError(ErrorBody):
    """A checkout that failed, naming the service at fault.

    `payment` is there when the payment had been authorized before the order
    failed, or may have been (payment did not answer: its `id` is null): checkout
    voided it, or will (`void_pending`, see `GET /payment-voids`).
    """

    service: str
    order_id: str | None = Field(
        None, description="the failed order, as `GET /payment-voids` names it"
    )
    payment: OrderPayment | None = None


VoidStatus = Literal["pending", "voided"]


class PaymentVoid(ApiModel):
    """A payment checkout must void because its order failed after payment was authorized, or
    may have been: when payment did not answer, checkout voids the order (by `order_id`)."""

    payment_id: str | None = Field(
        description="null for a void by order while payment has not named an authorization"
    )
    order_id: str
    trace_id: str | None
    reason: str = Field(description="why the order failed")
    status: VoidStatus
    attempts: int = Field(description="void calls made so far")
    last_error: str | None = Field(description="why the last void call failed")
    next_attempt_at: datetime | None = Field(description="when a pending void is tried again")
    created_at: datetime
    voided_at: datetime | None


class PaymentVoids(ApiModel):
    """Checkout's voids, newest first, and how many are pending."""

    pending: int = Field(description="voids not yet done, in the database")
    unrecorded: int = Field(
        description="pending voids held in memory while checkout's database is unavailable"
    )
    voids: list[PaymentVoid]
