from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Sku = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]


class OrderLine(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: Sku
    quantity: Annotated[int, Field(ge=1, le=1000)]


class CheckoutRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: Annotated[list[OrderLine], Field(min_length=1, max_length=50)]
    amount: Annotated[float, Field(gt=0, le=1_000_000, allow_inf_nan=False)]
    currency: Currency
    card_token: Annotated[str, StringConstraints(min_length=1, max_length=128)] | None = None


class PaymentAnswer(BaseModel):
    """What checkout needs from payment's answer."""

    payment_id: str


class ReservationAnswer(BaseModel):
    """What checkout needs from inventory's answer."""

    reservation_id: str


class Order(BaseModel):
    order_id: str
    status: Literal["confirmed"]
    payment_id: str
    reservation_id: str
    items: list[dict[str, Any]]
    amount: float
    currency: str
    trace_id: str | None
