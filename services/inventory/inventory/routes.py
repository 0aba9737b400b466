from __future__ import annotations

from typing import Annotated

import asyncpg
from fastapi import APIRouter, Depends, FastAPI, Request, status
from fastapi.responses import JSONResponse

from aiops_telemetry import WorkDep, current_trace_id

from . import repository
from .repository import InsufficientStock, StockDatabase, UnknownSku
from .schemas import Reservation, ReserveRequest, Sku, StockItem

router = APIRouter()


# async: a plain `def` dependency runs in the threadpool on every request
async def get_stock_db(request: Request) -> StockDatabase:
    db: StockDatabase = request.state.db
    return db


DbDep = Annotated[StockDatabase, Depends(get_stock_db)]


@router.get("/inventory")
async def list_stock(db: DbDep, work: WorkDep) -> list[StockItem]:
    """Every SKU with its stock level."""
    await work()
    return await repository.list_stock(db)


# Before `/inventory/{sku}`: other methods on this path get a 405 naming POST.
@router.post(
    "/inventory/reserve",
    status_code=status.HTTP_201_CREATED,
    responses={404: {"description": "unknown SKU"}, 409: {"description": "insufficient stock"}},
)
async def reserve(body: ReserveRequest, db: DbDep, work: WorkDep) -> Reservation:
    """Reserve every line's quantity atomically, or none of them."""
    await work()
    reservation_id, lines = await repository.reserve(db, body.items, trace_id=current_trace_id())
    return Reservation(reservation_id=reservation_id, items=lines)


@router.get("/inventory/{sku}", responses={404: {"description": "unknown SKU"}})
async def get_stock(sku: Sku, db: DbDep, work: WorkDep) -> StockItem:
    """One SKU's stock level."""
    await work()
    return await repository.get_stock(db, sku)


# Failures of the database itself, as opposed to a query's own error.
DATABASE_UNAVAILABLE = (
    OSError,
    TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.OperatorInterventionError,
)


def _error(status_code: int, detail: str, **extra: object) -> JSONResponse:
    return JSONResponse(
        {"detail": detail, "trace_id": current_trace_id(), **extra}, status_code=status_code
    )


def register_error_handlers(app: FastAPI) -> None:
    async def unknown_sku(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, UnknownSku)
        return _error(status.HTTP_404_NOT_FOUND, str(exc), sku=exc.sku)

    async def insufficient(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, InsufficientStock)
        return _error(
            status.HTTP_409_CONFLICT,
            str(exc),
            sku=exc.sku,
            requested=exc.requested,
            available=exc.available,
        )

    async def database_unavailable(_: Request, exc: Exception) -> JSONResponse:
        return _error(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            f"inventory database unavailable ({type(exc).__name__}); retry shortly",
        )

    app.add_exception_handler(UnknownSku, unknown_sku)
    app.add_exception_handler(InsufficientStock, insufficient)
    for exc_type in DATABASE_UNAVAILABLE:
        app.add_exception_handler(exc_type, database_unavailable)
