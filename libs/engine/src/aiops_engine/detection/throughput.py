"""Throughput drops: a service that handles fewer of the calls its callers make.

A queue consumer that lost some of its replicas fails nothing and slows
nothing: its producers publish as usual, and it handles fewer messages.
Its own traffic cannot tell that from a quiet spell; its callers' can. The
calls a service's callers made, times the ratio of its served requests to
those calls it usually has, is what it should have served. A call answered
with an error was served all the same; one refused (a killed service) was
not, and is a drop as much as a lost message.

How closely served follows called is each service's own (`dispersion`):
where every call is served and traced, the two counts differ by the few
calls a window's edge splits; where they are sampled apart, by as much as
two independent counts. A quiet consumer handles a message or two a
window, so the counts are added up over a run of windows (a CUSUM against
half the calls lost, as detection.evidence runs, but longer), kept on each
of the service's endpoints, which do not learn their rate while a run is
on. Served fewer than `drop_ratio` of the expected over the run, and that
improbable at the service's dispersion (`silence_p_value`), is a drop:
reported on the endpoint that lost the most, as a silence of part of its
traffic, which root-cause analysis treats like any other.

Only services whose traffic comes through callers it knows are judged: an
entry endpoint's users are not in the spans, and neither is a batch caller.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from .config import DetectionConfig
from .evidence import fold_run
from .model import (
    Anomaly,
    AnomalyType,
    Baseline,
    Coupling,
    KeyKind,
    SeriesKey,
    Tally,
    WindowStats,
)
from .scoring import poisson_cdf_upper_bound, shortfall_score
from .silence import empty_window

# Usual served/called ratios of a service fed by its callers alone: one request per call,
# give or take a window's edge. Further off, users or a scheduler call it too, in a mix
# that shifts with the hour, and its callers cannot say what it should serve.
_RATIO = (0.8, 1.25)
_HALF = 0.5  # the alternative a run is weighed against: half the calls not served
# A run spans this many `evidence_windows`: a consumer of a message every few seconds needs
# minutes of them, and a lasting drop is to be reported, not learned.
_RUN = 4
_KNOWN = (0.01, 100.0)  # ratios a run is kept for at all (learned, if not judged)
_INDEPENDENT = 2.0  # the dispersion of two independent Poisson counts compared
_DISPERSION = (0.25, 4.0)  # bounds on a learned one: a window's edge splits some calls
_LEARNED = 30  # windows before a service's own dispersion is trusted
_SEEN = 3  # windows a run must span before a drop is reported


@dataclass(slots=True)
class _Service:
    called: int = 0  # calls made to it this window
    usual_called: float = 0.0  # per second, learned
    callers_known: bool = True
    endpoints: dict[SeriesKey, Baseline] = field(default_factory=dict)

    def ratio(self, config: DetectionConfig) -> float | None:
        """Requests served per call, usually: as the service's windows showed them once
        learned, else as its keys' rates say (judged only near 1, `_RATIO`); None: unknown."""
        endpoints = self.endpoints.values()
        if not endpoints or not self.callers_known or self.usual_called <= 0:
            return None
        if not all(_steady(b, config) for b in endpoints):
            return None
        coupling = self.endpoints[min(self.endpoints)].coupling
        if _learned(coupling):
            ratio = coupling.served / coupling.called
        else:
            ratio = sum(b.rate_per_s for b in endpoints) / self.usual_called
        return ratio if _KNOWN[0] <= ratio <= _KNOWN[1] else None


@dataclass(frozen=True, slots=True)
class DropStep:
    """One judged service's cycle: its run after this window, and the window's own counts."""

    run: Tally  # hits: calls that arrived; count: those and the requests served
    called: int
    served: int
    ratio: float  # requests usually served per call


def drop_runs(
    windows: Iterable[WindowStats], baselines: Mapping[SeriesKey, Baseline], config: DetectionConfig
) -> dict[str, DropStep]:
    """Each judged service's step after this cycle's windows; a service absent is not judged,
    and its endpoints keep no run."""
    by_key = {window.key: window for window in windows}
    if not by_key:
        return {}
    end = max(window.end for window in by_key.values())
    steps = {}
    for name, service in _services(by_key, baselines, config).items():
        ratio = service.ratio(config)
        if ratio is None:
            continue
        before = service.endpoints[min(service.endpoints)]
        served = sum(w.count for key in service.endpoints if (w := by_key.get(key)) is not None)
        run = before.dropped
        if before.dropped_end is None or end > before.dropped_end:  # not folded yet
            if run.windows >= _RUN * config.evidence_windows:
                run = Tally()
            usual, alternative = 1 / (1 + ratio), 1 / (1 + ratio * _HALF)
            run = fold_run(run, service.called + served, service.called, usual, alternative)
        steps[name] = DropStep(run, service.called, served, ratio)
    return steps


def coupled(
    coupling: Coupling, before: Tally, step: DropStep, reported: bool, config: DetectionConfig
) -> Coupling:
    """`coupling` with what a cycle taught: nothing while a run is on (it may be a drop); when
    a run ends unreported (or never began), its windows and this one, as a block."""
    if reported or step.run.windows:
        return coupling
    windows = before.windows + 1
    called = before.hits + step.called
    served = before.count - before.hits + step.served
    expected = step.ratio * called
    # k windows' counts vary k times as much as one's: per window, the squared gap over k.
    gap = min(abs(served - expected), 3 * math.sqrt(dispersion(coupling) * max(expected, 1.0)))
    squared = gap * gap
    alpha = 1 - (1 - max(config.ewma_alpha / 2, 1 / (coupling.windows + 1))) ** windows
    return Coupling(
        called=coupling.called + alpha * (called / windows - coupling.called),
        served=coupling.served + alpha * (served / windows - coupling.served),
        squares=coupling.squares + alpha * (squared / windows - coupling.squares),
        windows=coupling.windows + windows,
    )


def _learned(coupling: Coupling) -> bool:
    return coupling.windows >= _LEARNED and coupling.called > 0 and coupling.served > 0


def dispersion(coupling: Coupling) -> float:
    """Variance over mean of a service's served count around its callers' calls: about 2 for
    two independent counts, far less where each call is served (the same message, traced);
    2 until `_LEARNED` windows say."""
    if not _learned(coupling):
        return _INDEPENDENT
    ratio = min(max(coupling.served / coupling.called, _RATIO[0]), _RATIO[1])
    share = coupling.squares / (ratio * coupling.called)
    return min(max(share, _DISPERSION[0]), _DISPERSION[1])


def detect_drops(
    windows: Iterable[WindowStats],
    baselines: Mapping[SeriesKey, Baseline],
    config: DetectionConfig,
) -> list[Anomaly]:
    """Services that served improbably few of the calls their callers made, over a run."""
    windows = list(windows)
    by_key = {window.key: window for window in windows}
    services = _services(by_key, baselines, config)
    found = []
    for name, step in sorted(drop_runs(windows, baselines, config).items()):
        run, ratio = step.run, step.ratio
        calls, served = run.hits, run.count - run.hits
        expected = calls * ratio
        if not _RATIO[0] <= ratio <= _RATIO[1] or expected < config.min_samples:
            continue
        if served > config.drop_ratio * expected or run.windows < _SEEN:
            continue
        # ... and short in this window too: one service's spans landing late (its exporter
        # stalled) leave one window short, which a drop is not.
        if step.served > config.drop_ratio * step.called * ratio:
            continue
        service = services[name]
        coupling = service.endpoints[min(service.endpoints)].coupling
        if not _learned(coupling):  # judged once its own windows say how it behaves
            continue
        phi = dispersion(coupling)
        # Quasi-Poisson: counts scaled by their dispersion, so a loosely coupled service
        # needs a wider gap and a tightly coupled one is judged as tightly as it behaves.
        chance = poisson_cdf_upper_bound(math.floor(served / phi), expected / phi)
        if chance < config.silence_p_value:
            found.append(_drop(service, by_key, run, ratio, chance, config))
    return found


def _drop(
    service: _Service,
    by_key: Mapping[SeriesKey, WindowStats],
    run: Tally,
    ratio: float,
    chance: float,
    config: DetectionConfig,
) -> Anomaly:
    endpoints = service.endpoints
    usual_served = sum(b.rate_per_s for b in endpoints.values())

    def expected_of(key: SeriesKey) -> float:
        return service.called * ratio * endpoints[key].rate_per_s / usual_served

    def shortfall(key: SeriesKey) -> float:
        return expected_of(key) - (by_key[key].count if key in by_key else 0)

    key = max(sorted(endpoints), key=shortfall)
    any_window = next(iter(by_key.values()))
    window = by_key.get(key) or empty_window(key, any_window.start, any_window.end)
    calls, served = run.hits, run.count - run.hits
    expected = calls * ratio
    over = f" over the last {run.windows} windows" if run.windows > 1 else ""
    return Anomaly(
        type=AnomalyType.SILENCE,
        key=key,
        observed=float(window.count),
        baseline=expected_of(key),
        threshold=config.drop_ratio * expected_of(key),
        window_start=window.start,
        window_end=window.end,
        sample_count=window.count,
        score=shortfall_score(served, expected),
        sample_trace_ids=(),  # the lost calls left none; the served ones tell nothing
        explanation=(
            f"{key.service}: throughput drop{over}: {served} requests served where its "
            f"callers' {calls} calls that arrived, at its usual {ratio:.2f} per call, predict "
            f"{expected:.0f} ({served / expected:.0%}; chance under {chance:.0e}); {key} "
            "lost the most."
        ),
    )


def _steady(baseline: Baseline, config: DetectionConfig) -> bool:
    """Whether a key's rate is learned over enough windows to be its usual one."""
    return max(baseline.traffic_windows, baseline.windows) >= config.min_windows


def _services(
    by_key: Mapping[SeriesKey, WindowStats],
    baselines: Mapping[SeriesKey, Baseline],
    config: DetectionConfig,
) -> dict[str, _Service]:
    services: dict[str, _Service] = defaultdict(_Service)
    for key, baseline in baselines.items():
        if key.kind is KeyKind.ENDPOINT:
            services[key.service].endpoints[key] = baseline
            continue
        callee = services[key.target]
        callee.usual_called += baseline.rate_per_s
        callee.callers_known &= _steady(baseline, config)
        if (window := by_key.get(key)) is not None:
            callee.called += window.count
    return services
