from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status

from aiops_api.shop import (
    ErrorBody,
    InsufficientStockError,
    Reservation,
    ReserveRequest,
    Sku,
    StockItem,
    UnknownSkuError,
)
from aiops_telemetry import DatabaseDep, ErrorAnswers, WorkDep, current_trace_id

from . import repository
from .repository import InsufficientStock, UnknownSku

router = APIRouter()

Responses = dict[int | str, dict[str, Any]]
UNAVAILABLE: Responses = {
    503: {"model": ErrorBody, "description": "inventory's database is unavailable; retry shortly"}
}
UNKNOWN_SKU: Responses = {404: {"model": UnknownSkuError, "description": "unknown SKU"}}


@router.get("/inventory", responses=UNAVAILABLE)
async def list_stock(db: DatabaseDep, work: WorkDep) -> list[StockItem]:
    """Every SKU with its stock level."""
    await work()
    return await repository.list_stock(db)


# Before `/inventory/{sku}`: other methods on this path get a 405 naming POST.
@router.post(
    "/inventory/reserve",
    status_code=status.HTTP_201_CREATED,
    responses={
        **UNKNOWN_SKU,
        409: {"model": InsufficientStockError, "description": "insufficient stock"},
        413: {"model": ErrorBody, "description": "request body too large"},
        **UNAVAILABLE,
    },
)
async def reserve(body: ReserveRequest, db: DatabaseDep, work: WorkDep) -> Reservation:
    """Reserve every line's quantity atomically, or none of them."""
    await work()
    reservation_id, lines = await repository.reserve(db, body.items, trace_id=current_trace_id())
    return Reservation(reservation_id=reservation_id, items=lines)


@router.get("/inventory/{sku}", responses={**UNKNOWN_SKU, **UNAVAILABLE})
async def get_stock(sku: Sku, db: DatabaseDep, work: WorkDep) -> StockItem:
    """One SKU's stock level."""
    await work()
    return await repository.get_stock(db, sku)


ERRORS = (
    ErrorAnswers()
    .add(
        UnknownSku,
        status.HTTP_404_NOT_FOUND,
        lambda exc: UnknownSkuError(detail=str(exc), sku=exc.sku, trace_id=current_trace_id()),
    )
    .add(
        InsufficientStock,
        status.HTTP_409_CONFLICT,
        lambda exc: InsufficientStockError(
            detail=str(exc),
            sku=exc.sku,
            requested=exc.requested,
            available=exc.available,
            trace_id=current_trace_id(),
        ),
    )
)
