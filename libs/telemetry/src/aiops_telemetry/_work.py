"""Simulated work, so each endpoint has a latency of its own for baselines to learn."""

from __future__ import annotations

import asyncio
import math
import random
from typing import Annotated

from fastapi import Depends, Request


class SimulatedWork:
    """Sleep a log-normally distributed time: a few ms with a natural long tail."""

    def __init__(self, median_ms: float, jitter: float, *, seed: int | None = None) -> None:
        self._mu = math.log(median_ms) if median_ms > 0 else None
        self._sigma = jitter
        self._random = random.Random(seed)

    async def __call__(self) -> None:
        if self._mu is None:
            return
        await asyncio.sleep(self._random.lognormvariate(self._mu, self._sigma) / 1000.0)


async def get_work(request: Request) -> SimulatedWork:
    """The service's `SimulatedWork`, which its lifespan yields as state `work`.

    async: a plain `def` dependency runs in the threadpool on every request.
    """
    work: SimulatedWork = request.state.work
    return work


WorkDep = Annotated[SimulatedWork, Depends(get_work)]
