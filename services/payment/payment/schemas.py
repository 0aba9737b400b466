from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
Amount = Annotated[float, Field(gt=0, le=1_000_000, allow_inf_nan=False)]


class PaymentRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: Amount
    currency: Currency = Field(description="ISO 4217 code, e.g. USD")
    card_token: Annotated[str, StringConstraints(min_length=1, max_length=128)] | None = Field(
        None, description="`tok_declined` simulates a declined card"
    )


class PaymentResponse(BaseModel):
    payment_id: str
    status: Literal["authorized"]
    amount: float
    currency: str
