"""A steady, realistic mix of traffic across the shop, stopping by itself.

Arrivals are open-loop, as real users are: a request starts on schedule whether or
not earlier ones have answered, so a slow shop gets a queue, not less traffic.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import itertools
import math
import random
import re
import secrets
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

Kind = Literal["checkout", "inventory_item", "inventory_list", "payment"]
KINDS: tuple[Kind, ...] = ("checkout", "inventory_item", "inventory_list", "payment")

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
class Latency:
    count: int
    p50_ms: float
    p95_ms: float
    p99_ms: float


@dataclass(frozen=True)
class LoadStats:
    """A run so far (or in all): what was sent and what came back."""

    sent: int
    skipped: int  # arrivals dropped because max_in_flight requests were pending
    in_flight: int
    elapsed_s: float  # the whole run, the wait for the last answers included
    sending_s: float  # the part spent sending: sent / sending_s is the rate
    by_status: Mapping[tuple[Kind, int], int]  # status 0: no answer (see errors)
    errors: Mapping[str, int]  # transport errors by kind: timeout, connect_error, ...
    latency: Mapping[Kind, Latency]  # of requests that got an answer

    @property
    def failed(self) -> int:
        """Requests with no answer or a 5xx; 402 and 409 are the shop's normal answers."""
        return sum(n for (_, status), n in self.by_status.items() if status == 0 or status >= 500)

    def summary(self) -> str:
        """A table per kind: requests, statuses (none: no answer), latency percentiles."""
        row = "{:<15} {:>8}  {:<26} {:>8} {:>8} {:>8}".format
        lines = [row("kind", "requests", "statuses", "p50 ms", "p95 ms", "p99 ms")]
        for kind in KINDS:
            statuses = sorted((s, n) for (k, s), n in self.by_status.items() if k == kind)
            lat = self.latency.get(kind)
            ms = [f"{v:.1f}" for v in (lat.p50_ms, lat.p95_ms, lat.p99_ms)] if lat else ["-"] * 3
            shown = ", ".join(f"{s or 'none'}: {n}" for s, n in statuses)
            if statuses:
                lines.append(row(kind, sum(n for _, n in statuses), shown, *ms))
        rate = self.sent / self.sending_s if self.sending_s > 0 else 0.0
        lines.append(
            f"{self.sent} sent in {self.sending_s:.1f} s ({rate:.1f}/s), {self.failed} failed, "
            f"{self.skipped} skipped" + (f", {self.in_flight} in flight" if self.in_flight else "")
        )
        errors = ", ".join(f"{e} {n}" for e, n in sorted(self.errors.items()))
        return "\n".join(lines + ([f"no answer: {errors}"] if errors else []))


# Latencies go into 1 %-wide logarithmic buckets: percentiles within 1 %, and
# memory bounded however long the run (a day at 1000/s is 86M samples).
_BUCKET = math.log(1.01)


class _Recorder:
    """The counts of one run; only its own event loop touches it."""

    def __init__(self) -> None:
        self.sent = 0
        self.skipped = 0
        self.by_status: Counter[tuple[Kind, int]] = Counter()
        self.errors: Counter[str] = Counter()
        self.buckets: defaultdict[Kind, Counter[int]] = defaultdict(Counter)

    def answered(self, kind: Kind, status: int, seconds: float) -> None:
        self.by_status[kind, status] += 1
        self.buckets[kind][round(math.log(max(seconds * 1000, 1e-3)) / _BUCKET)] += 1

    def failed(self, kind: Kind, error: str) -> None:
        self.by_status[kind, 0] += 1
        self.errors[error] += 1

    def snapshot(self, elapsed_s: float, sending_s: float, in_flight: int) -> LoadStats:
        latency = {kind: _percentiles(b) for kind, b in self.buckets.items() if b}
        return LoadStats(
            self.sent, self.skipped, in_flight, elapsed_s, sending_s,
            dict(self.by_status), dict(self.errors), latency,
        )  # fmt: skip


def _percentiles(buckets: Counter[int]) -> Latency:
    ordered = sorted(buckets.items())
    ends = list(itertools.accumulate(n for _, n in ordered))  # requests up to each bucket

    def at(q: float) -> float:  # nearest rank
        rank = max(1, math.ceil(q * ends[-1]))
        return math.exp(ordered[bisect.bisect_left(ends, rank)][0] * _BUCKET)

    return Latency(ends[-1], at(0.50), at(0.95), at(0.99))


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
    client: httpx.AsyncClient, request: _Request, recorder: _Recorder, timeout_s: float
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
    recorder = _Recorder()
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
