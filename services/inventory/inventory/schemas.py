from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Sku = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


class StockItem(BaseModel):
    sku: str
    name: str
    unit_price: float
    quantity: int


class ReserveLine(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: Sku
    quantity: Annotated[int, Field(ge=1, le=1000)]


class ReserveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: Annotated[list[ReserveLine], Field(min_length=1, max_length=50)]


class ReservedLine(BaseModel):
    """A reserved SKU; repeated lines of one SKU are summed, so no per-line cap applies."""

    sku: str
    quantity: int


class Reservation(BaseModel):
    reservation_id: str
    items: list[ReservedLine]
