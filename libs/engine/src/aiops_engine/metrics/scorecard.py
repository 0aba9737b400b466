"""The detection score: labelled windows against alarm onsets, earlier alarms earning more.

A detector says, per point, anomalous or not; an **alarm** is the onset of a run of anomalous
points, because that is what opens an incident (the points after it only keep it open). Per
stream:

- each labelled window [start, end] earns `1 - 0.5 * (t - start) / (end - start)` for its
  earliest onset t inside it (1 at the start, 0.5 at the end), or -1 if it has none;
- a run that began before the window and is still running at its start detects it at the
  start (earning 1) if it began at most LEAD_S (30 min) before: an alarm that fired just before
  the labelled moment (a label is a point in time, a fault's effect may lead it) is not a miss,
  but a run that has been on for hours says nothing about this window;
- each onset inside no window and credited to none costs FALSE_ALARM_COST (0.11).

Over a set of streams with W windows the raw sum is normalised so that never alarming (raw
= -W) is 0 and every window alarmed at its start with no false alarm (raw = W) is 100:
`100 * (raw + W) / (2W)`. It has no floor: false alarms can take it below 0.
Pure functions over seconds from a stream's start; no clock, no I/O. In the engine so that
`make benchmark-detect` and `aiops replay --metrics` score with the very same arithmetic.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

LEAD_S = 1800.0
FALSE_ALARM_COST = 0.11


@dataclass(frozen=True, slots=True)
class Window:
    """A labelled window, in seconds from the stream's start, both ends included."""

    start: float
    end: float
    kind: str = ""
    sign: int = 0  # +1 the series went up, -1 down, 0 neither


@dataclass(frozen=True, slots=True)
class WindowResult:
    window: Window
    detected_at: float | None  # seconds from the stream's start; None: missed
    earned: float
    run_end: float | None = None  # the last anomalous point of the run that detected it
    on_after: bool = False  # some run over the window is still on after its end

    @property
    def detected(self) -> bool:
        return self.detected_at is not None


@dataclass(frozen=True, slots=True)
class StreamScore:
    """One detector on one stream: each window's result and the onsets."""

    windows: tuple[WindowResult, ...]
    onsets: tuple[float, ...]  # every alarm onset, seconds from the start
    true_onsets: int  # inside a window, or credited to one by the lead rule

    @property
    def false_alarms(self) -> int:
        return len(self.onsets) - self.true_onsets

    @property
    def raw(self) -> float:
        return sum(w.earned for w in self.windows) - FALSE_ALARM_COST * self.false_alarms

    @property
    def detected(self) -> int:
        return sum(w.detected for w in self.windows)


def runs(flags: Sequence[bool]) -> list[tuple[int, int]]:
    """Each run of anomalous points as (first, last) indexes, both included."""
    found: list[tuple[int, int]] = []
    first: int | None = None
    for i, flag in enumerate(flags):
        if flag and first is None:
            first = i
        elif not flag and first is not None:
            found.append((first, i - 1))
            first = None
    if first is not None:
        found.append((first, len(flags) - 1))
    return found


def earned(at: float, window: Window) -> float:
    """What an onset at `at` inside the window earns: 1 at its start, 0.5 at its end."""
    span = window.end - window.start
    return 1.0 if span <= 0 else 1.0 - 0.5 * (at - window.start) / span


def score_stream(
    times: Sequence[float], flags: Sequence[bool], windows: Iterable[Window]
) -> StreamScore:
    """Score one detector's per-point verdicts (`flags`, at `times`) against the windows."""
    if len(times) != len(flags):
        raise ValueError("one verdict per point")
    spans = [(times[a], times[b]) for a, b in runs(flags)]  # each run's first and last time
    onsets = [first for first, _ in spans]
    credited: set[int] = set()  # runs whose onset detected a window from before it
    results = []
    for window in windows:
        inside = [k for k, t in enumerate(onsets) if window.start <= t <= window.end]
        lead = [k for k, (first, last) in enumerate(spans)
                if window.start - LEAD_S <= first < window.start <= last]  # fmt: skip
        after = any(first <= window.end < last for first, last in spans)
        if lead:
            k = lead[0]
            credited.add(k)
            results.append(WindowResult(window, window.start, 1.0, spans[k][1], after))
        elif inside:
            k = inside[0]
            at = onsets[k]
            results.append(WindowResult(window, at, earned(at, window), spans[k][1], after))
        else:
            results.append(WindowResult(window, None, -1.0, None, after))
    true = sum(
        k in credited or any(w.start <= t <= w.end for w in (r.window for r in results))
        for k, t in enumerate(onsets)
    )
    return StreamScore(tuple(results), tuple(onsets), true)


@dataclass(frozen=True, slots=True)
class Tally:
    """Scores summed over streams: what the normalised score, precision and recall come from."""

    streams: int = 0
    windows: int = 0
    detected: int = 0
    earned: float = 0.0
    onsets: int = 0
    true_onsets: int = 0

    @classmethod
    def of(cls, score: StreamScore) -> Tally:
        return cls(
            1,
            len(score.windows),
            score.detected,
            sum(w.earned for w in score.windows),
            len(score.onsets),
            score.true_onsets,
        )

    def __add__(self, other: Tally) -> Tally:
        return Tally(
            self.streams + other.streams,
            self.windows + other.windows,
            self.detected + other.detected,
            self.earned + other.earned,
            self.onsets + other.onsets,
            self.true_onsets + other.true_onsets,
        )

    @property
    def false_alarms(self) -> int:
        return self.onsets - self.true_onsets

    @property
    def raw(self) -> float:
        return self.earned - FALSE_ALARM_COST * self.false_alarms

    @property
    def normalised(self) -> float | None:
        """100 * (raw - null) / (perfect - null), null = -W, perfect = W; None without windows."""
        if self.windows == 0:
            return None
        return 100.0 * (self.raw + self.windows) / (2 * self.windows)

    @property
    def precision(self) -> float | None:
        return self.true_onsets / self.onsets if self.onsets else None

    @property
    def recall(self) -> float | None:
        return self.detected / self.windows if self.windows else None


def total(scores: Iterable[StreamScore]) -> Tally:
    found = Tally()
    for score in scores:
        found += Tally.of(score)
    return found
