"""Synthetic windows and a cycle driver for the detection tests: detect, then learn."""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from aiops_engine.detection import (
    Anomaly,
    Baseline,
    DetectionConfig,
    SeriesKey,
    WindowStats,
    count_bars,
    detect,
    learn,
)

T0 = datetime(2025, 1, 1, tzinfo=UTC)
WINDOW_S = 10.0
PAYMENT = SeriesKey.endpoint("payment", "/payment")
CHECKOUT = SeriesKey.endpoint("checkout", "/checkout")
CHECKOUT_TO_PAYMENT = SeriesKey.edge("checkout", "payment")
CONFIG = DetectionConfig()


def at(index: int) -> datetime:
    """The start of window `index` (its end is `at(index + 1)`)."""
    return T0 + timedelta(seconds=index * WINDOW_S)


def percentile(values: Sequence[float], q: float) -> float:
    """Linear interpolation between ranks, as PostgreSQL's percentile_cont."""
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def window_of(
    latencies: Sequence[float],
    *,
    index: int,
    key: SeriesKey = PAYMENT,
    errors: int = 0,
    timeouts: int = 0,
    bars: tuple[float, float] | None = None,
) -> WindowStats:
    """The aggregate the analyzer's query would produce for these request latencies
    (counting those past the key's two `bars`, when given)."""
    if not latencies:
        return WindowStats(key, at(index), at(index + 1), 0, 0, 0, 0.0, 0.0, 0.0, 0.0)
    worst = sorted(range(len(latencies)), key=lambda i: -latencies[i])[:3]
    return WindowStats(
        key=key,
        start=at(index),
        end=at(index + 1),
        count=len(latencies),
        error_count=errors,
        timeout_count=timeouts,
        mean_ms=sum(latencies) / len(latencies),
        p50_ms=percentile(latencies, 0.5),
        p95_ms=percentile(latencies, 0.95),
        p99_ms=percentile(latencies, 0.99),
        sample_trace_ids=tuple(f"trace-{index}-{i}" for i in worst),
        slow_count=None if bars is None else sum(1 for v in latencies if v > bars[0]),
        far_count=None if bars is None else sum(1 for v in latencies if v > bars[1]),
    )


def lognormal(rng: random.Random, median_ms: float, count: int, sigma: float = 0.3) -> list[float]:
    """Request latencies with natural jitter: log-normal around `median_ms`."""
    return [rng.lognormvariate(math.log(median_ms), sigma) for _ in range(count)]


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth's method; fine for the means used here)."""
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


@dataclass
class Run:
    """Baselines after a run of cycles, and what each cycle reported."""

    baselines: dict[SeriesKey, Baseline] = field(default_factory=dict)
    reports: list[list[Anomaly]] = field(default_factory=list)

    @property
    def anomalies(self) -> list[Anomaly]:
        return [anomaly for report in self.reports for anomaly in report]

    def window(
        self,
        latencies: Sequence[float],
        *,
        index: int,
        key: SeriesKey = PAYMENT,
        errors: int = 0,
        counted: bool = True,
        config: DetectionConfig = CONFIG,
    ) -> WindowStats:
        """The window of these latencies, counted (as the analyzer's query counts them)
        against the key's bars in the baselines learned so far, if it has any yet."""
        bars = count_bars(self.baselines, config).get(key) if counted else None
        return window_of(latencies, index=index, key=key, errors=errors, bars=bars)

    def cycle(
        self, windows: Iterable[WindowStats], *, index: int, config: DetectionConfig = CONFIG
    ) -> list[Anomaly]:
        """One analysis cycle at the end of window `index`: detect, then learn."""
        windows = list(windows)
        found = detect(windows, self.baselines, config, now=at(index + 1))
        self.baselines = learn(self.baselines, windows, found, config)
        self.reports.append(found)
        return found


def steady_run(
    rng: random.Random,
    windows: int,
    *,
    median_ms: float = 100.0,
    count: int = 100,
    key: SeriesKey = PAYMENT,
    counted: bool = False,
    sigma: float = 0.3,
) -> Run:
    """A run of `windows` normal, jittery windows for one key, starting at index 0; with
    `counted`, their requests are counted against the key's bars as the analyzer counts them."""
    run = Run()
    for index in range(windows):
        latencies = lognormal(rng, median_ms, count, sigma)
        run.cycle([run.window(latencies, index=index, key=key, counted=counted)], index=index)
    return run
