"""One stream through every detector: the engine's wrapper, and what a worker sends back."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from aiops_engine.metrics.scorecard import StreamScore, Window, score_stream
from aiops_simulate import Stream

from . import references
from .corpus import Entry
from .verdicts import Detector, Verdicts, flags_at

WEEK_S = 7 * 86400.0


def aiops(stream: Stream) -> Verdicts:
    """The engine (`aiops_engine.metrics.judge`), point by point with its default settings: what
    the analyzer runs on a metric series. Kept tiny, so an interface change is one edit here."""
    from aiops_engine.metrics import Direction, MetricConfig, MetricState, judge

    config, direction = MetricConfig(), Direction(stream.direction)
    state: MetricState | None = None
    flags: list[bool] = []
    expected: list[float | None] = []
    lower: list[float | None] = []
    upper: list[float | None] = []
    for at, value in stream.points():
        state, j = judge(state, stream.name, at, value, config, direction)
        flags.append(j.anomalous)
        expected.append(j.expected)
        lower.append(j.lower)
        upper.append(j.upper)
    return Verdicts(flags, expected, lower, upper)


DETECTORS: dict[str, Detector] = {
    "aiops": aiops,
    "zscore": references.zscore,
    "ewma3": references.ewma3,
    "stl": references.stl,
}
LABELS = {
    "aiops": "aiops (engine)",
    "zscore": "rolling z-score",
    "ewma3": "seed EWMA x3",
    "stl": "STL residual (statsmodels)",
}
REFERENCES = ("zscore", "ewma3", "stl")
# The thresholds (sds) a z-style reference is also scored at: its k is then chosen on the tune
# split alone and reported on both, so the engine is compared with each at its best, too.
THRESHOLDS = (3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 15.0)


def variant(name: str, k: float) -> str:
    return f"{name}@{k:g}"


def engine_available() -> str | None:
    """None if the engine's metric detector imports; else why not."""
    try:
        from aiops_engine.metrics import judge  # noqa: F401
    except ImportError as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def windows(stream: Stream) -> list[Window]:
    return [
        Window(stream.offset(label.start), stream.offset(label.end), label.kind, label.sign)
        for label in stream.labels
    ]


@dataclass(frozen=True, slots=True)
class Outcome:
    """One detector on one stream: its score, the alarms after the first week, its time."""

    score: StreamScore
    late_onsets: int  # alarm onsets after the first 7 days
    wall_s: float
    error: str | None = None


@dataclass(frozen=True, slots=True)
class StreamResult:
    """A corpus entry, run: what each detector got on it."""

    entry: Entry
    kind: str  # as drawn (the entry may leave it to the seed)
    direction: str
    points: int
    days: float
    outcomes: dict[str, Outcome] = field(default_factory=dict)


def judge_stream(stream: Stream, name: str) -> tuple[Verdicts, float]:
    began = time.perf_counter()
    verdicts = DETECTORS[name](stream)
    if len(verdicts.anomalous) != len(stream):
        raise ValueError(f"{name} gave {len(verdicts.anomalous)} verdicts for {len(stream)} points")
    return verdicts, time.perf_counter() - began


def run(entry: Entry, detectors: Sequence[str]) -> StreamResult:
    """Draw the entry's stream and score every detector on it (in a worker process)."""
    stream = entry.stream()
    times = [i * float(stream.step_s) for i in range(len(stream))]
    found = windows(stream)
    outcomes = {}
    for name in detectors:
        try:
            verdicts, wall_s = judge_stream(stream, name)
        except Exception as exc:  # one detector failing on one stream is reported, not fatal
            empty = score_stream(times, [False] * len(times), found)
            outcomes[name] = Outcome(empty, 0, 0.0, f"{type(exc).__name__}: {exc}")
            continue
        outcomes[name] = _outcome(times, verdicts.anomalous, found, wall_s)
        if verdicts.z is not None and name in REFERENCES:
            for k in THRESHOLDS:
                flags = flags_at(stream.direction, verdicts.z, k)
                outcomes[variant(name, k)] = _outcome(times, flags, found, 0.0)
    return StreamResult(entry, stream.kind, stream.direction, len(stream), stream.days, outcomes)


def _outcome(
    times: Sequence[float], flags: Sequence[bool], found: Sequence[Window], wall_s: float
) -> Outcome:
    score = score_stream(times, flags, found)
    return Outcome(score, sum(t >= WEEK_S for t in score.onsets), wall_s)
