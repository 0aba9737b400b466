"""Before the faults: a stack ready to judge them, and a board on which what opens is ours.

A warm start (every scenario but a cold one) drives traffic until the
analyzer's baselines are established, resolves what is open and waits for
clean cycles. A cold start (`cold_start.py`) instead begins with nothing
learned and resolves what is open before its first request.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from aiops_api.analyzer import AnomalyRecord

from ._types import Log
from .load import LoadStats
from .scoring import missing_baselines
from .stack import Stack, StackError

Traffic = asyncio.Task[LoadStats]
QUIET_S = 15.0  # "recent" anomalies: their window ended this close to now


async def pause(traffic: Traffic, seconds: float) -> None:
    """Sleep, unless traffic ends first: then its error (or a StackError) surfaces at once."""
    done, _ = await asyncio.wait({traffic}, timeout=max(0.0, seconds))
    if done:
        traffic.result()
        raise StackError("traffic stopped before the scenario ended")


async def await_baselines(
    stack: Stack, traffic: Traffic, notes: list[str], log: Log, *, timeout_s: float
) -> None:
    """Let traffic run until the required baselines are established, at most `timeout_s`."""
    missing = missing_baselines(await stack.baselines())
    if not missing:
        return
    log(
        f"the analyzer's baselines are not established yet ({', '.join(missing)}): "
        f"driving traffic until they are (at most {timeout_s:g} s)"
    )
    deadline = asyncio.get_running_loop().time() + timeout_s
    while missing and asyncio.get_running_loop().time() < deadline:
        await pause(traffic, 2.0)
        missing = missing_baselines(await stack.baselines())
    if missing:
        notes.append(f"baselines still not established after {timeout_s:g} s: {', '.join(missing)}")
        log(notes[-1])
    else:
        log("baselines established")


async def quiet_start(
    stack: Stack, traffic: Traffic, notes: list[str], log: Log, *, timeout_s: float
) -> datetime:
    """Resolve what is open and wait for clean cycles: what opens next is ours.

    Quiet means no anomaly in windows that ended in the last `QUIET_S`
    seconds (two or three cycles), not that older ones have aged out of
    the analyzer's `active` list, which takes a minute.
    """
    await resolve_all(stack, log)
    active = _recent(await stack.active_anomalies())
    if active:
        log(f"waiting for {len(active)} recent anomalies to stop (at most {timeout_s:g} s)")
    deadline = asyncio.get_running_loop().time() + timeout_s
    while active and asyncio.get_running_loop().time() < deadline:
        await pause(traffic, 2.0)
        active = _recent(await stack.active_anomalies())
    if active:
        notes.append(f"not a quiet start: {len(active)} anomalies still active")
        log(notes[-1])
    await resolve_all(stack, log)  # anything the wait opened or reopened
    return datetime.now(UTC)


def _recent(anomalies: list[AnomalyRecord]) -> list[AnomalyRecord]:
    """Anomalies whose window ended within the last QUIET_S seconds."""
    since = datetime.now(UTC) - timedelta(seconds=QUIET_S)
    return [a for a in anomalies if a.window_end >= since]


async def resolve_all(stack: Stack, log: Log) -> None:
    """Resolve every open or acknowledged incident (history keeps them)."""
    for status in ("open", "acknowledged"):
        for incident in await stack.incidents(status):
            try:
                await stack.resolve_incident(incident.id)
                cause = incident.root_cause.service
                log(f"resolved {incident.id} ({status}, {cause}): what opens next is ours")
            except StackError as exc:  # resolved meanwhile, automatically
                log(f"could not resolve {incident.id}: {exc}")
