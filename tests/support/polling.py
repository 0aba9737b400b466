"""Waiting for a real system to reach a state, with a deadline that names what never came."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T | None]], *, within: float, what: str, every: float = 0.5
) -> T:
    """The first truthy result of `probe`; fails naming `what` after `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        if result := await probe():
            return result
        assert time.monotonic() < deadline, f"{what}: not within {within:.0f} s"
        await asyncio.sleep(every)
