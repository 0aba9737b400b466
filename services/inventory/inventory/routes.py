from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request, status
from fastapi.responses import JSONResponse

from aiops_api.shop import (
    ErrorBody,
    InsufficientStockError,
    Reservation,
    ReserveRequest,
    Sku,
    StockItem,
    UnknownSkuError,
)
from aiops_telemetry import DATABASE_UNAVAILABLE, Database, WorkDep, current_trace_id

from . import repository
from .repository import InsufficientStock, UnknownSku

router = APIRouter()

Responses = dict[int | str, dict[str, Any]]
UNAVAILABLE: Responses = {
    503: {"model": ErrorBody, "description": "inventory's database is unavailable; retry shortly"}
}
UNKNOWN_SKU: Responses = {404: {"model": UnknownSkuError, "description": "unknown SKU"}}


# async: a plain `def` dependency runs in the threadpool on every request
async def get_stock_db(request: Request) -> Database:
    db: Database = request.state.db
    return db


DbDep = Annotated[Database, Depends(get_stock_db)]


@router.get("/inventory", responses=UNAVAILABLE)
async def list_stock(db: DbDep, work: WorkDep) -> list[StockItem]:
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
async def reserve(body: ReserveRequest, db: DbDep, work: WorkDep) -> Reservation:
    """Reserve every line's quantity atomically, or none of them."""
    await work()
    reservation_id, lines = await repository.reserve(db, body.items, trace_id=current_trace_id())
    return Reservation(reservation_id=reservation_id, items=lines)


@router.get("/inventory/{sku}", responses={**UNKNOWN_SKU, **UNAVAILABLE})
async def get_stock(sku: Sku, db: DbDep, work: WorkDep) -> StockItem:
    """One SKU's stock level."""
    await work()
    return await repository.get_stock(db, sku)


def _error(status_code: int, body: ErrorBody) -> JSONResponse:
    return JSONResponse(body.model_dump(mode="json"), status_code=status_code)


def register_error_handlers(app: FastAPI) -> None:
    async def unknown_sku(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, UnknownSku)
        body = UnknownSkuError(detail=str(exc), sku=exc.sku, trace_id=current_trace_id())
        return _error(status.HTTP_404_NOT_FOUND, body)

    async def insufficient(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, InsufficientStock)
        body = InsufficientStockError(
            detail=str(exc),
            sku=exc.sku,
            requested=exc.requested,
            available=exc.available,
            trace_id=current_trace_id(),
        )
        return _error(status.HTTP_409_CONFLICT, body)

    async def database_unavailable(_: Request, exc: Exception) -> JSONResponse:
        detail = f"inventory database unavailable ({type(exc).__name__}); retry shortly"
        return _error(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            ErrorBody(detail=detail, trace_id=current_trace_id()),
        )

    app.add_exception_handler(UnknownSku, unknown_sku)
    app.add_exception_handler(InsufficientStock, insufficient)
    for exc_type in DATABASE_UNAVAILABLE:
        app.add_exception_handler(exc_type, database_unavailable)
