"""What a load run counts: statuses, transport errors and latency percentiles per kind."""

from __future__ import annotations

import bisect
import itertools
import math
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

Kind = Literal["checkout", "inventory_item", "inventory_list", "payment"]
KINDS: tuple[Kind, ...] = ("checkout", "inventory_item", "inventory_list", "payment")


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


class Recorder:
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
        latency = {kind: percentiles(b) for kind, b in self.buckets.items() if b}
        return LoadStats(
            self.sent, self.skipped, in_flight, elapsed_s, sending_s,
            dict(self.by_status), dict(self.errors), latency,
        )  # fmt: skip


def percentiles(buckets: Counter[int]) -> Latency:
    ordered = sorted(buckets.items())
    ends = list(itertools.accumulate(n for _, n in ordered))  # requests up to each bucket

    def at(q: float) -> float:  # nearest rank
        rank = max(1, math.ceil(q * ends[-1]))
        return math.exp(ordered[bisect.bisect_left(ends, rank)][0] * _BUCKET)

    return Latency(ends[-1], at(0.50), at(0.95), at(0.99))
