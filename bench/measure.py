"""Repeated, interleaved wrk runs of several variants, and their statistics."""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import dataclass, replace

from .cpu import CpuProbe
from .wrk import Load, Wrk, WrkResult


@dataclass(frozen=True, slots=True)
class Series:
    """Repeated runs of one variant, summarized by their median."""

    results: tuple[WrkResult, ...]
    warmup: WrkResult | None = None  # not in the statistics, but its requests were served

    @property
    def served(self) -> int:
        """Completed requests, warm-up included: what an instrumented server must have recorded."""
        return self.requests + (self.warmup.requests if self.warmup else 0)

    @property
    def rps(self) -> float:
        return statistics.median(r.rps for r in self.results)

    def ratios(self, baseline: Series) -> list[float]:
        """Round-by-round req/s ratios to `baseline`; runs of one round ran side by side."""
        return [
            mine.rps / theirs.rps if theirs.rps else 0.0
            for mine, theirs in zip(self.results, baseline.results, strict=True)
        ]

    def ratio(self, baseline: Series) -> float:
        """Median of the paired ratios: drift between rounds cancels out, unlike medians' ratio."""
        return statistics.median(self.ratios(baseline))

    @property
    def spread(self) -> tuple[float, float]:
        return min(r.rps for r in self.results), max(r.rps for r in self.results)

    @property
    def p50_ms(self) -> float:
        return statistics.median(r.p50_ms for r in self.results)

    @property
    def p99_ms(self) -> float:
        return statistics.median(r.p99_ms for r in self.results)

    @property
    def requests(self) -> int:
        return sum(r.requests for r in self.results)

    @property
    def cpu_us(self) -> dict[str, float]:
        """Median CPU microseconds per completed request, per probed label."""
        labels = self.results[0].cpu_s.keys() if self.results else ()
        return {
            label: statistics.median(
                r.cpu_s[label] / r.requests * 1e6 if r.requests else 0.0 for r in self.results
            )
            for label in labels
        }

    @property
    def non_2xx(self) -> int:
        return sum(r.non_2xx for r in self.results)

    @property
    def socket_errors(self) -> int:
        return sum(r.socket_errors for r in self.results)

    def as_json(self) -> dict[str, object]:
        low, high = self.spread
        return {
            "rps_median": round(self.rps, 1),
            "rps_min": round(low, 1),
            "rps_max": round(high, 1),
            "rps_runs": [round(r.rps, 1) for r in self.results],
            "p50_ms": round(self.p50_ms, 3),
            "p99_ms": round(self.p99_ms, 3),
            "requests": self.requests,
            "non_2xx": self.non_2xx,
            "socket_errors": self.socket_errors,
            "cpu_us_per_request": {k: round(v, 1) for k, v in self.cpu_us.items()},
        }


def interleave(
    wrk: Wrk,
    loads: Mapping[str, Load],
    *,
    rounds: int,
    seconds: int,
    warmup: int,
    probes: Mapping[str, CpuProbe] | None = None,
) -> dict[str, Series]:
    """Warm every variant up, then run them in turn `rounds` times: A B C, C B A, A B C, ...

    Interleaving spreads slow drifts of the machine (other tenants of the
    host, caches) over all variants instead of charging them to whichever
    ran last; reversing every other round cancels a steady drift within
    rounds too. Neighbours in `loads` run next to each other, so put a
    variant beside the baseline it is compared with.
    """
    warmups = {name: wrk.run(load, warmup) for name, load in loads.items()}
    runs: dict[str, list[WrkResult]] = {name: [] for name in loads}
    names = list(loads)
    for round_ in range(rounds):
        for name in names if round_ % 2 == 0 else reversed(names):
            runs[name].append(_probed(wrk, loads[name], seconds, (probes or {}).get(name)))
    return {name: Series(tuple(results), warmups[name]) for name, results in runs.items()}


def _probed(wrk: Wrk, load: Load, seconds: int, probe: CpuProbe | None) -> WrkResult:
    before = probe() if probe else {}
    result = wrk.run(load, seconds)
    if probe is None:
        return result
    after = probe()
    return replace(result, cpu_s={label: after[label] - before[label] for label in after})
