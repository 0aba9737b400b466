"""G. Detection targets: quiet on normal traffic, how fast a fault is reported and blamed.

The whole shop and the analyzer (with a Redis of its own) run as real
processes at their default settings (5 s cycles). A driver sends ~10 checkouts/s with exponential
think times; faults swap where that traffic goes, to twins of the services
that carry the same service names:

- a checkout whose payment takes 2 s (the seed's scenario 1, with the
  checkout timeout raised so the slowness is seen, not cut off);
- a checkout whose payment is down (every checkout fails).

For each fault it measures when the anomaly is listed and when an open
incident names payment as its root cause. The first incident is resolved
through the API before the second fault, which must reopen it (same cause).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.support.processes import free_port

from .fleet import Context, Fleet, throwaway_redis
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


async def time_to_incident(
    client: httpx.AsyncClient, analyzer: str, since: float
) -> tuple[float | None, list[dict[str, Any]]]:
    """Seconds from `since` until an open incident is listed; the open incidents then."""
    while time.time() - since < DETECTION_LIMIT_S:
        incidents: list[dict[str, Any]] = (
            await client.get(f"{analyzer}/incidents", params={"status": "open"})
        ).json()
        if incidents:
            return time.time() - since, incidents
        await asyncio.sleep(0.25)
    return None, []


@dataclass
class Outcome:
    sent: int = 0
    quiet_anomalies: list[str] = field(default_factory=list)
    quiet_incidents: int = 0
    latency_s: float | None = None
    errors_s: float | None = None
    # Per fault: seconds to an open incident, and the open incidents then.
    incident_s: dict[str, float | None] = field(default_factory=dict)
    incidents: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


async def scenario(urls: dict[str, str], quiet_s: float, recover_s: float) -> Outcome:
    outcome = Outcome()
    analyzer = urls["analyzer"]
    async with httpx.AsyncClient(timeout=10, limits=httpx.Limits(max_connections=200)) as client:
        driver = Driver(client, urls["checkout"])
        stop = asyncio.Event()
        driving = asyncio.create_task(driver.run(stop))
        print(f"G: {quiet_s:.0f}s of normal traffic at ~{RATE_PER_S:.0f}/s", file=sys.stderr)
        await asyncio.sleep(quiet_s)
        outcome.quiet_anomalies = [a["explanation"] for a in await anomalies(client, analyzer)]
        outcome.quiet_incidents = len((await client.get(f"{analyzer}/incidents")).json())

        print("G: payment slowed to ~2 s", file=sys.stderr)
        driver.target, fault_at = urls["checkout_slow_payment"], time.time()
        incident = asyncio.create_task(time_to_incident(client, analyzer, fault_at))
        outcome.latency_s = await time_to_detect(
            client, analyzer, "latency", "payment /payment", fault_at
        )
        outcome.incident_s["delay"], outcome.incidents["delay"] = await incident
        driver.target = urls["checkout"]
        await asyncio.sleep(recover_s)
        for opened in outcome.incidents["delay"]:
            await client.post(f"{analyzer}/incidents/{opened['id']}/resolve")

        print("G: payment down", file=sys.stderr)
        driver.target, fault_at = urls["checkout_payment_down"], time.time()
        incident = asyncio.create_task(time_to_incident(client, analyzer, fault_at))
        outcome.errors_s = await time_to_detect(
            client, analyzer, "error_spike", "checkout /checkout", fault_at
        )
        outcome.incident_s["down"], outcome.incidents["down"] = await incident
        stop.set()
        await driving
    outcome.sent = driver.sent
    return outcome


def run(ctx: Context) -> Section:
    quiet_s = float(ctx.config.quiet_seconds)
    section = Section("G", f"Detection targets: {quiet_s:.0f}s normal traffic, then two faults")
    ctx.db.truncate()
    with Fleet(ctx.env) as fleet, throwaway_redis() as redis_url:
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
            "analyzer": fleet.start("analyzer.app:create_app", {"AIOPS_REDIS_URL": redis_url}).url,
        }
        outcome = asyncio.run(scenario(urls, quiet_s, recover_s=30))

    delay_root, down_root = (_roots(outcome.incidents[fault]) for fault in ("delay", "down"))
    section.headers = ["measure", "value"]
    section.rows = [
        ["checkouts sent", f"{outcome.sent:,}"],
        [f"anomalies in {quiet_s:.0f}s of normal traffic", str(len(outcome.quiet_anomalies))],
        [f"incidents in {quiet_s:.0f}s of normal traffic", str(outcome.quiet_incidents)],
        ["2 s payment delay reported after", _seconds(outcome.latency_s)],
        ["2 s payment delay: open incident after", _seconds(outcome.incident_s["delay"])],
        ["2 s payment delay: root cause", delay_root],
        ["payment down reported after", _seconds(outcome.errors_s)],
        ["payment down: open incident after", _seconds(outcome.incident_s["down"])],
        ["payment down: root cause", down_root],
    ]
    section.notes += [f"during normal traffic: {e}" for e in outcome.quiet_anomalies]
    section.checks += [
        Check(
            "faults_detected",
            outcome.latency_s is not None and outcome.errors_s is not None,
            "both faults",
        ),
        Check("delay_blames_payment", delay_root == "payment", delay_root),
        Check("outage_blames_payment", down_root == "payment", down_root),
    ]
    section.goals += [
        Goal("anomalies_during_normal_traffic", len(outcome.quiet_anomalies), 0, at_most=True),
        Goal("incidents_during_normal_traffic", outcome.quiet_incidents, 0, at_most=True),
        Goal("latency_time_to_detect_s", outcome.latency_s or DETECTION_LIMIT_S, 15, at_most=True),
        Goal("errors_time_to_detect_s", outcome.errors_s or DETECTION_LIMIT_S, 15, at_most=True),
        *(
            Goal(f"{fault}_time_to_incident_s", seconds or DETECTION_LIMIT_S, 15, at_most=True)
            for fault, seconds in outcome.incident_s.items()
        ),
    ]
    section.summary = (
        f"**{len(outcome.quiet_anomalies)}** anomalies and **{outcome.quiet_incidents}** "
        f"incidents in {quiet_s:.0f} s of normal traffic ({outcome.sent:,} checkouts); a 2 s "
        f"payment delay reported after {_seconds(outcome.latency_s)}, an incident blaming "
        f"**{delay_root}** after {_seconds(outcome.incident_s['delay'])}; payment down "
        f"reported after {_seconds(outcome.errors_s)}, blaming **{down_root}** after "
        f"{_seconds(outcome.incident_s['down'])}"
    )
    section.data = {
        "checkouts_sent": outcome.sent,
        "quiet_seconds": quiet_s,
        "quiet_anomalies": outcome.quiet_anomalies,
        "quiet_incidents": outcome.quiet_incidents,
        "latency_time_to_detect_s": outcome.latency_s,
        "errors_time_to_detect_s": outcome.errors_s,
        "time_to_incident_s": outcome.incident_s,
        "incidents": outcome.incidents,
        "rate_per_s": RATE_PER_S,
        "orders": json.dumps(ORDER),
    }
    return section


def _roots(incidents: list[dict[str, Any]]) -> str:
    """The open incidents' root services, e.g. "payment"; "none" without an incident."""
    return ", ".join(i["root_cause"]["service"] for i in incidents) or "none"


def _seconds(value: float | None) -> str:
    return "not within 60 s" if value is None else f"{value:.1f} s"
