"""G. Detection targets: quiet on normal traffic, and how fast a fault is reported.

The whole shop and the analyzer run as real processes at their default
settings (5 s cycles). A driver sends ~10 checkouts/s with exponential
think times; faults swap where that traffic goes, to twins of the services
that carry the same service names:

- a checkout whose payment takes 2 s (the seed's scenario 1, with the
  checkout timeout raised so the slowness is seen, not cut off);
- a checkout whose payment is down (every checkout fails).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import sys
import time
from typing import Any

import httpx

from tests.support.processes import free_port

from .fleet import Context, Fleet
from .report import Check, Goal, Section

RATE_PER_S = 10.0
ORDER = {"items": [{"sku": "SKU-001", "quantity": 1}], "amount": 19.99, "currency": "USD"}
DETECTION_LIMIT_S = 60.0  # give up on a fault after this long


class Driver:
    """Poisson arrivals of checkouts to whichever checkout `target` names."""

    def __init__(self, client: httpx.AsyncClient, target: str) -> None:
        self.client = client
        self.target = target
        self.sent = 0
        self._tasks: set[asyncio.Task[Any]] = set()

    async def run(self, stop: asyncio.Event) -> None:
        rng = random.Random(7)
        while not stop.is_set():
            task = asyncio.create_task(self._one())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            await asyncio.sleep(rng.expovariate(RATE_PER_S))
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _one(self) -> None:
        self.sent += 1
        # A failing checkout is the fault under test; telemetry sees it, the driver need not.
        with contextlib.suppress(httpx.HTTPError):
            await self.client.post(f"{self.target}/checkout", json=ORDER)


async def anomalies(client: httpx.AsyncClient, analyzer: str) -> list[dict[str, Any]]:
    body: dict[str, Any] = (await client.get(f"{analyzer}/anomalies?minutes=30&limit=1000")).json()
    recent: list[dict[str, Any]] = body["recent"]
    return recent


async def time_to_detect(
    client: httpx.AsyncClient, analyzer: str, kind: str, key: str, since: float
) -> float | None:
    """Seconds from `since` (wall clock) until an anomaly of `kind` on `key` is listed."""
    while time.time() - since < DETECTION_LIMIT_S:
        for anomaly in await anomalies(client, analyzer):
            if anomaly["type"] == kind and anomaly["key"] == key:
                return time.time() - since
        await asyncio.sleep(0.25)
    return None


async def scenario(
    urls: dict[str, str], quiet_s: float, recover_s: float
) -> tuple[int, list[str], float | None, float | None]:
    async with httpx.AsyncClient(timeout=10, limits=httpx.Limits(max_connections=200)) as client:
        driver = Driver(client, urls["checkout"])
        stop = asyncio.Event()
        driving = asyncio.create_task(driver.run(stop))
        print(f"G: {quiet_s:.0f}s of normal traffic at ~{RATE_PER_S:.0f}/s", file=sys.stderr)
        await asyncio.sleep(quiet_s)
        during_quiet = await anomalies(client, urls["analyzer"])

        print("G: payment slowed to ~2 s", file=sys.stderr)
        driver.target, fault_at = urls["checkout_slow_payment"], time.time()
        latency_s = await time_to_detect(
            client, urls["analyzer"], "latency", "payment /payment", fault_at
        )
        driver.target = urls["checkout"]
        await asyncio.sleep(recover_s)

        print("G: payment down", file=sys.stderr)
        driver.target, fault_at = urls["checkout_payment_down"], time.time()
        errors_s = await time_to_detect(
            client, urls["analyzer"], "error_spike", "checkout /checkout", fault_at
        )
        stop.set()
        await driving
    return driver.sent, [a["explanation"] for a in during_quiet], latency_s, errors_s


def run(ctx: Context) -> Section:
    quiet_s = float(ctx.config.quiet_seconds)
    section = Section("G", f"Detection targets: {quiet_s:.0f}s normal traffic, then two faults")
    ctx.db.truncate()
    with Fleet(ctx.env) as fleet:
        print("G: starting the shop, its faulty twins and the analyzer", file=sys.stderr)
        payment = fleet.start("payment.app:create_app")
        slow_payment = fleet.start(
            "payment.app:create_app", {"AIOPS_WORK_MS": "2000", "AIOPS_WORK_JITTER": "0.1"}
        )
        inventory = fleet.start("inventory.app:create_app")
        downstream = {"AIOPS_INVENTORY_URL": inventory.url, "AIOPS_DOWNSTREAM_TIMEOUT": "5"}
        urls = {
            "checkout": fleet.start(
                "checkout.app:create_app", {**downstream, "AIOPS_PAYMENT_URL": payment.url}
            ).url,
            "checkout_slow_payment": fleet.start(
                "checkout.app:create_app", {**downstream, "AIOPS_PAYMENT_URL": slow_payment.url}
            ).url,
            "checkout_payment_down": fleet.start(
                "checkout.app:create_app",
                {**downstream, "AIOPS_PAYMENT_URL": f"http://127.0.0.1:{free_port()}"},
            ).url,
            "analyzer": fleet.start("analyzer.app:create_app").url,
        }
        sent, quiet, latency_s, errors_s = asyncio.run(scenario(urls, quiet_s, recover_s=30))

    section.headers = ["measure", "value"]
    section.rows = [
        ["checkouts sent", f"{sent:,}"],
        [f"anomalies in {quiet_s:.0f}s of normal traffic", str(len(quiet))],
        ["2 s payment delay reported after", _seconds(latency_s)],
        ["payment down reported after", _seconds(errors_s)],
    ]
    section.notes += [f"during normal traffic: {explanation}" for explanation in quiet]
    section.checks.append(
        Check("faults_detected", latency_s is not None and errors_s is not None, "both faults")
    )
    section.goals += [
        Goal("anomalies_during_normal_traffic", len(quiet), 0, at_most=True),
        Goal("latency_time_to_detect_s", latency_s or DETECTION_LIMIT_S, 15, at_most=True),
        Goal("errors_time_to_detect_s", errors_s or DETECTION_LIMIT_S, 15, at_most=True),
    ]
    section.data = {
        "checkouts_sent": sent,
        "quiet_seconds": quiet_s,
        "quiet_anomalies": quiet,
        "latency_time_to_detect_s": latency_s,
        "errors_time_to_detect_s": errors_s,
        "rate_per_s": RATE_PER_S,
        "orders": json.dumps(ORDER),
    }
    return section


def _seconds(value: float | None) -> str:
    return "not within 60 s" if value is None else f"{value:.1f} s"
