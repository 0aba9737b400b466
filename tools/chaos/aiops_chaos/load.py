"""A steady, realistic mix of traffic across the shop, stopping by itself.

Arrivals are open-loop, as real users are: a request starts on schedule whether or
not earlier ones have answered, so a slow shop gets a queue, not less traffic.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from .load_stats import KINDS, Kind, LoadStats, Recorder

# What `run_load`'s callers use; its result, `LoadStats`, included.
__all__ = ["KINDS", "PRICES", "Kind", "LoadConfig", "LoadStats", "Mix", "run_load"]

# The seeded catalogue (services/inventory/inventory/migrations) and its prices.
PRICES: Mapping[str, float] = {
    "SKU-001": 19.99, "SKU-002": 89.00, "SKU-003": 14.50, "SKU-004": 4.25, "SKU-005": 24.00,
}  # fmt: skip


@dataclass(frozen=True)
class Mix:
    """Relative weights of each kind of request (they need not sum to 1)."""

    checkout: float = 0.6
    inventory_item: float = 0.25
    inventory_list: float = 0.05
    payment: float = 0.10

    def __post_init__(self) -> None:
        for kind, weight in zip(KINDS, self.weights(), strict=True):
            _check(0 <= weight < math.inf, f"mix.{kind}", "must be a finite weight ≥ 0")
        _check(sum(self.weights()) > 0, "mix", "needs at least one weight above 0")

    def weights(self) -> list[float]:  # in the order of KINDS
        return [self.checkout, self.inventory_item, self.inventory_list, self.payment]


@dataclass(frozen=True)
class LoadConfig:
    """What to send, where, how fast and for how long; invalid values are a ValueError."""

    checkout_url: str = "http://localhost:8001"
    payment_url: str = "http://localhost:8002"
    inventory_url: str = "http://localhost:8003"
    rate: float = 10.0  # requests per second, on average
    duration_s: float = 60.0  # always finite: the generator stops by itself
    mix: Mix = field(default_factory=Mix)
    think_sigma: float = 0.5  # log-normal sigma of the gaps between arrivals
    seed: int | None = None  # replays the same requests and gaps (never the trace ids)
    timeout_s: float = 10.0  # per request, from start to the whole body
    declined_share: float = 0.02  # of checkouts, paying with a declined card (402)
    max_in_flight: int = 500  # beyond it an arrival is skipped and counted
    # Looked up: every SKU. Bought: not SKU-005, a limited edition of 25 units,
    # sold out in seconds, after which ~40 % of checkouts would be 409s. Opt in.
    basket_skus: tuple[str, ...] = ("SKU-001", "SKU-002", "SKU-003", "SKU-004")

    def __post_init__(self) -> None:
        for name in ("checkout_url", "payment_url", "inventory_url"):
            ok = re.fullmatch(r"https?://[^/\s]+(/\S*)?", str(getattr(self, name))) is not None
            _check(ok, name, "must be an http(s):// URL with a host")
        _check(0 < self.rate <= 1000, "rate", "must be > 0 and ≤ 1000 requests/s")
        _check(0 < self.duration_s <= 86_400, "duration_s", "must be > 0 and ≤ 86400 s (24 h)")
        # Beyond 3 the mean gap is ruled by a few huge ones: bursts, then hush.
        _check(0 <= self.think_sigma <= 3, "think_sigma", "must be between 0 and 3")
        _check(0 < self.timeout_s <= 300, "timeout_s", "must be > 0 and ≤ 300 s")
        _check(0 <= self.declined_share <= 1, "declined_share", "must be between 0 and 1")
        _check(1 <= self.max_in_flight <= 10_000, "max_in_flight", "must be between 1 and 10000")
        _check(bool(self.basket_skus), "basket_skus", "must name at least one SKU")


def _check(ok: bool, name: str, why: str) -> None:
    if not ok:
        raise ValueError(f"{name} {why}")


@dataclass(frozen=True)
class _Request:
    kind: Kind
    method: str
    url: str
    json: dict[str, Any] | None = None


def _draw(config: LoadConfig, rng: random.Random) -> _Request:
    """One user's request, in the shapes README's "The shop's API" documents."""
    [kind] = rng.choices(KINDS, weights=config.mix.weights())
    inventory = f"{config.inventory_url.rstrip('/')}/inventory"
    if kind == "inventory_item":
        return _Request(kind, "GET", f"{inventory}/{rng.choice(tuple(PRICES))}")
    if kind == "inventory_list":
        return _Request(kind, "GET", inventory)
    body: dict[str, Any] = {"amount": round(rng.uniform(1, 200), 2), "currency": "USD"}
    if kind == "payment":
        return _Request(kind, "POST", f"{config.payment_url.rstrip('/')}/payment", body)
    skus = rng.sample(config.basket_skus, min(rng.randint(1, 3), len(config.basket_skus)))
    lines = [(sku, rng.randint(1, 2)) for sku in skus]
    body["items"] = [{"sku": sku, "quantity": quantity} for sku, quantity in lines]
    # The shop does not check the amount, but the basket's price keeps payments plausible.
    body["amount"] = round(sum(PRICES.get(sku, 10.0) * q for sku, q in lines), 2)
    if rng.random() < config.declined_share:
        body["card_token"] = "tok_declined"  # noqa: S105 (payment declines it: a 402)
    return _Request(kind, "POST", f"{config.checkout_url.rstrip('/')}/checkout", body)


async def _send(
    client: httpx.AsyncClient, request: _Request, recorder: Recorder, timeout_s: float
) -> None:
    # Random, not seeded: a seed replays the traffic, but trace ids must stay unique.
    headers = {"X-Trace-Id": f"load-{secrets.token_hex(12)}"}
    start = time.perf_counter()
    try:
        # httpx's timeout is per phase; this one bounds the whole request.
        async with asyncio.timeout(timeout_s):
            response = await client.request(
                request.method, request.url, json=request.json, headers=headers
            )
    except (TimeoutError, httpx.TimeoutException, httpx.ConnectError) as exc:
        connect = isinstance(exc, httpx.ConnectError)  # refused, unresolvable, unreachable
        recorder.failed(request.kind, "connect_error" if connect else "timeout")
    except asyncio.CancelledError:  # still pending when the run gave up waiting
        recorder.failed(request.kind, "abandoned")
        raise
    except Exception as exc:  # any other failure is one request's, never the run's
        recorder.failed(request.kind, type(exc).__name__)
    else:
        recorder.answered(request.kind, response.status_code, time.perf_counter() - start)


async def _stopped_before(deadline: float, stop: asyncio.Event) -> bool:
    """Sleep until `deadline` (loop time; if past, still yield once); True if stopped."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout_at(deadline):
            await stop.wait()
    return stop.is_set()


async def run_load(
    config: LoadConfig,
    *,
    stop: asyncio.Event | None = None,
    on_progress: Callable[[LoadStats], None] | None = None,
    progress_every_s: float = 10.0,
) -> LoadStats:
    """Send `config`'s mix until its duration has passed or `stop` is set, then
    wait (at most about `timeout_s`) for the requests still in flight."""
    stop = stop if stop is not None else asyncio.Event()
    loop = asyncio.get_running_loop()
    rng = random.Random(config.seed)
    recorder = Recorder()
    pending: set[asyncio.Task[None]] = set()
    # Gaps are log-normal, exp(N(mu, sigma²)), whose mean is exp(mu + sigma²/2).
    # mu = -ln(rate) - sigma²/2 makes that mean 1/rate, so the rate holds on
    # average; the median gap, exp(mu), is shorter: mostly brisk, now and then
    # a lull, as users are. sigma = 0 gives a metronome.
    mu, sigma = -math.log(config.rate) - config.think_sigma**2 / 2, config.think_sigma
    # Idle connections expire before uvicorn's 5 s keep-alive closes them (no reuse-vs-close race).
    limits = httpx.Limits(
        max_connections=config.max_in_flight, max_keepalive_connections=100, keepalive_expiry=2.0
    )
    start = sent_until = loop.time()

    async def report(callback: Callable[[LoadStats], None]) -> None:
        while True:
            await asyncio.sleep(progress_every_s)
            elapsed = loop.time() - start
            callback(recorder.snapshot(elapsed, elapsed, len(pending)))

    async with httpx.AsyncClient(limits=limits, timeout=config.timeout_s) as client:
        progress = asyncio.create_task(report(on_progress)) if on_progress else None
        try:
            # An absolute schedule (offsets from start): late wake-ups never lower the rate.
            next_at = 0.0
            while True:
                next_at += rng.lognormvariate(mu, sigma)
                if next_at >= config.duration_s:
                    await _stopped_before(start + config.duration_s, stop)
                    break
                if await _stopped_before(start + next_at, stop):
                    break
                request = _draw(config, rng)  # drawn even if skipped: a seed replays
                if len(pending) >= config.max_in_flight:
                    recorder.skipped += 1
                    continue
                recorder.sent += 1
                task = loop.create_task(_send(client, request, recorder, config.timeout_s))
                pending.add(task)
                task.add_done_callback(pending.discard)
            sent_until = loop.time()
            if pending:  # each is bounded by timeout_s; the margin is for the loop
                await asyncio.wait(set(pending), timeout=config.timeout_s + 1)
        finally:
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            if progress is not None:
                progress.cancel()
                [outcome] = await asyncio.gather(progress, return_exceptions=True)
                if isinstance(outcome, Exception):  # a broken callback is the caller's bug
                    raise outcome
    return recorder.snapshot(loop.time() - start, sent_until - start, len(pending))
