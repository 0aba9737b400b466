"""A metric replay's truth and scorecard: a fault is a time window on a series.

The truth file is what `aiops simulate --metrics` writes: a JSON list of
`{"series", "start", "end", "kind"}`. The score is `make benchmark-detect`'s, from the
same functions (`aiops_engine.metrics.scorecard`): each window earns 1 for an alarm at its
start down to 0.5 at its end, -1 if missed; an alarm in no window costs 0.11; normalised so
that never alarming is 0 and every window alarmed at its start is 100. Only the alarm runs
are kept per series (not every point's verdict): `verdicts` rebuilds from them the few
points that give `score_stream` exactly the runs every point would have.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from aiops_cli.client import CliError
from aiops_engine.metrics import StreamScore, Tally, Window, score_stream

from .options import truth_entries, truth_moment


@dataclass(frozen=True, slots=True)
class MetricFault:
    """One labelled window on one series, both ends included."""

    series: str
    start: datetime
    end: datetime
    kind: str | None = None


@dataclass(frozen=True, slots=True)
class AlarmSpan:
    """An alarm as the score needs it: its first and last anomalous point."""

    first: datetime
    last: datetime


@dataclass(frozen=True, slots=True)
class SeriesScore:
    """One series against its faults: the window results, and where its times count from."""

    series: str
    origin: datetime  # what the score's seconds are counted from
    faults: tuple[MetricFault, ...]
    score: StreamScore
    recorded: bool  # False: the truth names it, the recording has no point of it

    @property
    def tally(self) -> Tally:
        return Tally.of(self.score)


def load_metric_truth(path: Path) -> list[MetricFault]:
    """The truth file's faults, each checked: a CliError says which entry and what is wrong."""
    return [_fault(path, n, entry) for n, entry in enumerate(truth_entries(path))]


def _fault(path: Path, n: int, entry: object) -> MetricFault:
    where = f"truth file {path}, fault {n}"
    if not isinstance(entry, dict):
        raise CliError(f"{where}: not a JSON object")
    series = entry.get("series")
    if not isinstance(series, str) or not series:
        raise CliError(f"{where}: 'series' must be a non-empty string (a metric fault's series)")
    start, end = truth_moment(where, entry, "start"), truth_moment(where, entry, "end")
    if end < start:
        raise CliError(f"{where}: 'end' is before 'start'")
    kind = entry.get("kind")
    if kind is not None and not isinstance(kind, str):
        raise CliError(f"{where}: 'kind' must be a string")
    return MetricFault(series, start, end, kind)


def verdicts(alarms: Sequence[AlarmSpan], origin: datetime) -> tuple[list[float], list[bool]]:
    """Times (seconds from `origin`) and flags whose runs of anomalous points are `alarms`:
    each alarm's first and last point, then one normal point closing it. `score_stream` reads
    only where runs begin and end, so this scores as every point's verdict would."""
    times: list[float] = []
    flags: list[bool] = []
    for alarm in alarms:
        first, last = _seconds(alarm.first, origin), _seconds(alarm.last, origin)
        ends = [first] if last == first else [first, last]
        times += [*ends, last]
        flags += [True] * len(ends) + [False]
    return times, flags


def score_series(
    series: str,
    origin: datetime,
    alarms: Sequence[AlarmSpan],
    faults: Sequence[MetricFault],
    *,
    recorded: bool = True,
) -> SeriesScore:
    """One series' alarms against its faults."""
    windows = [
        Window(_seconds(f.start, origin), _seconds(f.end, origin), f.kind or "") for f in faults
    ]
    times, flags = verdicts(alarms, origin)
    score = score_stream(times, flags, windows)
    return SeriesScore(series, origin, tuple(faults), score, recorded)


def score_all(
    alarms: Mapping[str, Sequence[AlarmSpan]],
    origins: Mapping[str, datetime],
    faults: Sequence[MetricFault],
) -> list[SeriesScore]:
    """Every recorded series (those without faults too: their alarms are all false) and every
    series the truth names, recorded or not (its windows missed), by name."""
    by_series: dict[str, list[MetricFault]] = {}
    for fault in faults:
        by_series.setdefault(fault.series, []).append(fault)
    names = sorted(set(origins) | set(by_series))
    return [
        score_series(
            name,
            origins.get(name) or by_series[name][0].start,
            alarms.get(name, ()),
            sorted(by_series.get(name, ()), key=lambda f: f.start),
            recorded=name in origins,
        )
        for name in names
    ]


def delays(scores: Sequence[SeriesScore]) -> list[float]:
    """Seconds from each detected window's start to the alarm that detected it."""
    return [
        result.detected_at - result.window.start
        for s in scores
        for result in s.score.windows
        if result.detected_at is not None
    ]


def median_delay(scores: Sequence[SeriesScore]) -> float | None:
    found = delays(scores)
    return statistics.median(found) if found else None


def _seconds(at: datetime, origin: datetime) -> float:
    return (at - origin).total_seconds()
