"""What request handlers get from the lifespan's state, as FastAPI dependencies."""

from __future__ import annotations

from typing import Annotated

import asyncpg
from fastapi import Depends, Request

from analyzer.housekeeping import Housekeeper
from analyzer.incidents import IncidentDesk
from analyzer.loop import AnalysisLoop
from analyzer.settings import AnalyzerSettings


async def get_loop(request: Request) -> AnalysisLoop:
    loop: AnalysisLoop = request.state.loop
    return loop


async def get_pool(request: Request) -> asyncpg.Pool:
    pool: asyncpg.Pool = request.state.pool
    return pool


async def get_desk(request: Request) -> IncidentDesk:
    desk: IncidentDesk = request.state.desk
    return desk


async def get_housekeeper(request: Request) -> Housekeeper:
    housekeeper: Housekeeper = request.state.housekeeper
    return housekeeper


async def get_settings(request: Request) -> AnalyzerSettings:
    settings: AnalyzerSettings = request.state.settings
    return settings


LoopDep = Annotated[AnalysisLoop, Depends(get_loop)]
PoolDep = Annotated[asyncpg.Pool, Depends(get_pool)]
DeskDep = Annotated[IncidentDesk, Depends(get_desk)]
HousekeeperDep = Annotated[Housekeeper, Depends(get_housekeeper)]
SettingsDep = Annotated[AnalyzerSettings, Depends(get_settings)]
