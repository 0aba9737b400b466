"""The plain data detection works on: window aggregates in, baselines kept, anomalies out."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class KeyKind(StrEnum):
    """What a series measures."""

    ENDPOINT = "endpoint"  # server spans: requests a service served on one route
    EDGE = "edge"  # client spans: calls one service made to another
    METRIC = "metric"  # any other series: a custom or business metric (aiops_engine.metrics)


@dataclass(frozen=True, slots=True, order=True)
class SeriesKey:
    """One series: a server endpoint `(service, endpoint)` or a caller→callee edge."""

    kind: KeyKind
    service: str  # who recorded the spans: the server, or the caller
    target: str  # the endpoint's route template, or the callee (`peer_service`)

    @classmethod
    def endpoint(cls, service: str, endpoint: str) -> SeriesKey:
        return cls(KeyKind.ENDPOINT, service, endpoint)

    @classmethod
    def edge(cls, caller: str, callee: str) -> SeriesKey:
        return cls(KeyKind.EDGE, caller, callee)

    @property
    def requests(self) -> str:
        """What one unit of its traffic is called, for explanations."""
        return "calls" if self.kind is KeyKind.EDGE else "requests"

    def __str__(self) -> str:
        if self.kind is KeyKind.EDGE:
            return f"{self.service} → {self.target}"
        return f"{self.service} {self.target}"


@dataclass(frozen=True, slots=True)
class WindowStats:
    """One analysis window's aggregate for one key.

    Errors are 5xx responses for an endpoint; for an edge, also calls that got
    no response (NULL status) or recorded a failure kind. Percentiles are over
    the window's own requests, so one slow request moves p99, not p50.
    """

    key: SeriesKey
    start: datetime
    end: datetime
    count: int
    error_count: int
    timeout_count: int
    mean_ms: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    sample_trace_ids: tuple[str, ...] = ()  # worst first: failures, then the slowest
    # Requests past their key's two bars (detection's count_bars); None: not counted.
    slow_count: int | None = None  # past level x multiplier: most of them = the median moved
    far_count: int | None = None  # past one request's bar: a few of them = some requests hit

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()

    @property
    def rate_per_s(self) -> float:
        return self.count / self.seconds if self.seconds > 0 else 0.0

    @property
    def error_rate(self) -> float:
        return self.error_count / self.count if self.count else 0.0

    @property
    def timeout_rate(self) -> float:
        return self.timeout_count / self.count if self.count else 0.0

    @property
    def slow_rate(self) -> float:
        return self.slow_count / self.count if self.count and self.slow_count else 0.0

    @property
    def far_rate(self) -> float:
        return self.far_count / self.count if self.count and self.far_count else 0.0


@dataclass(frozen=True, slots=True)
class Tally:
    """One count's run of evidence over consecutive windows (detection.evidence)."""

    llr: float = 0.0  # the run's log-likelihood ratio, fault vs usual; 0: no run
    count: int = 0  # requests in the run
    hits: int = 0  # ... of them slow or failed
    windows: int = 0

    @property
    def share(self) -> float:
        return self.hits / self.count if self.count else 0.0


@dataclass(frozen=True, slots=True)
class Coupling:
    """How a service's served requests follow its callers' calls, window by window
    (detection.throughput): EWMAs of both counts and of the squared shortfall."""

    called: float = 0.0
    served: float = 0.0
    squares: float = 0.0
    windows: int = 0


@dataclass(frozen=True, slots=True)
class Evidence:
    """A key's runs of slow and failed requests, up to the window ending at `end`: slow
    weighed against most requests slow, `partial` against some of them."""

    slow: Tally = Tally()
    failed: Tally = Tally()
    end: datetime | None = None
    partial: Tally = Tally()


@dataclass(frozen=True, slots=True)
class Hour:
    """One hour of one key: sums over its windows, weighted by their requests, enough for a
    mean and a spread (a quiet key's window of two requests counts for two)."""

    hour: int  # hours since the Unix epoch, UTC
    windows: int = 0  # windows with requests
    requests: int = 0  # ... in all: each window's figures below are weighted by its requests
    p50: float = 0.0  # sum of log1p(window p50 ms)
    p50_sq: float = 0.0
    far: float = 0.0  # sum of the window's far slow share
    far_sq: float = 0.0
    errors: float = 0.0  # sum of the window's error rate
    errors_sq: float = 0.0
    least_rate: float = math.inf  # the quietest window's requests per second


@dataclass(frozen=True, slots=True)
class Season:
    """A key's past hours, oldest first, and the hour being filled."""

    hours: tuple[Hour, ...] = ()
    current: Hour | None = None


@dataclass(frozen=True, slots=True)
class Baseline:
    """What normal looks like for one key, learned window by window.

    `level_ms` follows the window median (p50): a window's median ignores a
    few slow requests, so the baseline learns the typical request, and it
    varies little from window to window, which makes a real shift stand out
    against `spread_ms`.
    """

    key: SeriesKey
    level_ms: float  # EWMA of the window p50 latency
    spread_ms: float  # EWMA standard deviation of the window p50 around level_ms
    rate_per_s: float  # EWMA of requests per second in learned windows
    error_rate: float  # EWMA of the window error rate, for explanations
    samples: int  # requests in all learned windows
    windows: int  # windows learned
    updated_at: datetime  # end of the last learned window
    # The slow end: how widely one key's requests vary, and how often one is slow,
    # for faults that hit only some requests (the median does not move).
    tail_ms: float = 0.0  # EWMA of the window p95 latency; 0 when never learned
    slow_rate: float = 0.0  # EWMA of the share of requests past the key's bar
    far_rate: float = 0.0  # EWMA of the share past one request's bar (request_threshold)
    # The last window when it was suspicious and held back from learning (detection.counting):
    # judged again together with the next one.
    held_count: int = 0
    held_slow: int = 0
    held_far: int = 0
    held_errors: int = 0
    held_end: datetime | None = None
    # Evidence accumulated over the windows since (detection.evidence); not persisted.
    evidence: Evidence = Evidence()
    # Windows its traffic was learned from, a handful of requests or more: a quiet key's
    # rate is an average too, not its last window's.
    traffic_windows: int = 0
    # Its service's run of calls that arrived and requests served (detection.throughput):
    # hits are the calls, count both; to the window ending at `dropped_end`. Not persisted.
    dropped: Tally = field(default=Tally(), compare=False)
    dropped_end: datetime | None = field(default=None, compare=False)
    coupling: Coupling = field(default=Coupling(), compare=False)
    # Its past hours, for what is usual at this hour of the day and week (detection.season):
    # a memory of every window, flagged or not, so not what two baselines are compared by.
    season: Season = field(default=Season(), compare=False)


class AnomalyType(StrEnum):
    LATENCY = "latency"
    ERROR_SPIKE = "error_spike"
    SILENCE = "silence"
    TIMEOUT = "timeout"
    METRIC = "metric"  # a metric series away from its expected band (aiops_engine.metrics)


@dataclass(frozen=True, slots=True)
class Anomaly:
    """One finding, with what it takes to explain it.

    `observed`, `baseline` and `threshold` share a unit per type: latency in
    ms (window p50), error_spike and timeout as a share of the window's
    requests, silence as a request count in the window.
    """

    type: AnomalyType
    key: SeriesKey
    observed: float
    baseline: float | None  # None when no baseline was learned yet (errors need none)
    threshold: float
    window_start: datetime
    window_end: datetime
    sample_count: int
    score: float  # 0..1: 0.5 just past the threshold, towards 1 the further past it
    sample_trace_ids: tuple[str, ...]
    explanation: str
