"""Driving a metric replay: points from the file, through the engine's `watch`, batch by batch.

`aiops_engine.metrics.watch` is what the analyzer's metric cycle calls on each batch of
points, so the replay judges exactly as the live analyzer would, only in the recording's
time. Memory stays bounded by the number of series, not of points: the file is read
BATCH rows at a time and each batch is given to `watch` with the states the last one left
(within a batch `watch` takes each series' points in time order, so only a point older than
one judged in an earlier batch is refused, and counted); per series only its state, its
counts and its alarm runs are kept. `--sort` instead reads the whole file into memory (about
200 bytes a point) and sorts it by time first, for a file whose series are out of order.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import islice
from pathlib import Path

from tqdm import tqdm

from aiops_cli.client import CliError
from aiops_cli.export import parse_duration
from aiops_engine.metrics import (
    Direction,
    Judgement,
    MetricConfig,
    MetricPoint,
    MetricState,
    default_direction,
    watch,
)

from .inputs import Source
from .metrics_csv import Refusals, read_points
from .metrics_score import AlarmSpan

BATCH = 10_000  # points per call of `watch`: amortizes its grouping, bounds memory


@dataclass
class Alarm:
    """A run of anomalous points of one series: what would have paged, and how loudly."""

    series: str
    service: str
    started_at: datetime
    ended_at: datetime  # its last anomalous point
    points: int
    score: float  # the highest of its points
    explanation: str  # that point's
    open: bool = False  # still anomalous at the recording's end

    @property
    def span(self) -> AlarmSpan:
        return AlarmSpan(self.started_at, self.ended_at)


@dataclass(frozen=True, slots=True)
class NewNormal:
    """A level the engine adopted as the series' new normal (when, since when, and why)."""

    series: str
    at: datetime
    since: datetime
    explanation: str


@dataclass
class Track:
    """One series so far: its direction, its counts, its alarms and its new normals."""

    series: str
    direction: Direction
    service: str = ""
    points: int = 0  # judged (not refused)
    first_at: datetime | None = None
    last_at: datetime | None = None
    running: Alarm | None = None
    alarms: list[Alarm] = field(default_factory=list)
    new_normals: list[NewNormal] = field(default_factory=list)

    def add(self, verdict: Judgement) -> None:
        if verdict.refused:
            return  # counted by `watch`; the state is as it was, the run goes on
        self.points += 1
        self.first_at = self.first_at or verdict.at
        self.last_at = verdict.at
        if verdict.new_normal_since is not None:
            self.new_normals.append(
                NewNormal(self.series, verdict.at, verdict.new_normal_since, verdict.explanation)
            )
        alarm = self.running
        if not verdict.anomalous:
            if alarm is not None:
                self.alarms.append(alarm)
                self.running = None
            return
        if alarm is None:
            self.running = Alarm(
                self.series, self.service, verdict.at, verdict.at, 1, verdict.score,
                verdict.explanation,
            )  # fmt: skip
            return
        alarm.ended_at, alarm.points = verdict.at, alarm.points + 1
        if verdict.score > alarm.score:
            alarm.score, alarm.explanation = verdict.score, verdict.explanation

    def finish(self) -> None:
        if self.running is not None:
            self.running.open = True
            self.alarms.append(self.running)
            self.running = None


@dataclass
class MetricsRun:
    """What a metric replay found, and what it could not read or judge."""

    config: MetricConfig
    tracks: dict[str, Track]
    refusals: Refusals  # rows that are not points
    refused: Counter[str]  # points the engine refused, by its reason
    skipped: dict[str, str]  # series -> why judging it failed (its batch's points are lost)
    points: int  # points read
    wall_s: float
    unused_directions: list[str]  # --direction series the file has no point of

    @property
    def judged(self) -> int:
        return sum(t.points for t in self.tracks.values())


def add_metric_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("metric streams (with --metrics; defaults as the analyzer's)")
    group.add_argument(
        "--direction", action="append", default=[], metavar="SERIES=up|down|both",
        help="which way SERIES goes wrong (repeatable; default from its name: latency, error, "
        "cpu ... up; conversion, revenue ... down; anything else both)",
    )  # fmt: skip
    defaults = MetricConfig()
    group.add_argument(
        "--p-value", type=float, metavar="FLOAT",
        help=f"MetricConfig.p_value: how unlikely a point must be to alarm ({defaults.p_value})",
    )  # fmt: skip
    group.add_argument(
        "--new-normal-after", type=_duration, metavar="DURATION",
        help="how long a shifted level holds before it is the new normal: 90m, 2h, or seconds "
        f"({defaults.new_normal_after.total_seconds():g} s)",
    )  # fmt: skip


def _duration(text: str) -> float:
    seconds = parse_duration(text)
    try:
        return float(text) if seconds is None else seconds
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration (90s, 30m, 2h)") from None


def metric_config(args: argparse.Namespace) -> MetricConfig:
    """`MetricConfig()` (the analyzer's defaults) with the options given; a bad value is a
    CliError naming it, in the engine's words."""
    base = MetricConfig()
    after = args.new_normal_after
    try:
        return MetricConfig(
            p_value=base.p_value if args.p_value is None else args.p_value,
            new_normal_after=base.new_normal_after if after is None else timedelta(seconds=after),
        )
    except (ValueError, OverflowError) as exc:
        raise CliError(f"settings: {exc}") from None


def parse_directions(specs: Sequence[str]) -> dict[str, Direction]:
    """`--direction SERIES=up|down|both`, each a usage error if it is not that."""
    found: dict[str, Direction] = {}
    for spec in specs:
        series, _, word = spec.rpartition("=")
        if not series.strip() or word.strip().lower() not in {d.value for d in Direction}:
            raise CliError(f"--direction: {spec!r} is not SERIES=up|down|both")
        found[series.strip()] = Direction(word.strip().lower())
    return found


def run_metrics(
    path: Path,
    config: MetricConfig,
    *,
    columns: str | None = None,
    directions: dict[str, Direction] | None = None,
    sort: bool = False,
) -> MetricsRun:
    """The points of `path` judged batch by batch (the module says why, and what it costs), each
    series one way as `directions` says, else as its name says (`default_direction`)."""
    chosen = directions or {}
    tracks: dict[str, Track] = {}
    refusals, refused, skipped = Refusals(), Counter[str](), dict[str, str]()
    states: dict[str, MetricState] = {}
    began, read = time.perf_counter(), 0
    source = Source(path)
    try:
        with tqdm(
            total=source.size, unit="B", unit_scale=True, desc="replay", leave=False,
            disable=not sys.stderr.isatty(),
        ) as bar:  # fmt: skip
            points: Iterator[MetricPoint] = read_points(source, columns, refusals)
            if sort:
                points = iter(sorted(points, key=lambda p: p.at))
            for batch in _batches(points):
                read += len(batch)
                for point in batch:
                    track = tracks.get(point.series)
                    if track is None:
                        direction = chosen.get(point.series) or default_direction(point.series)
                        tracks[point.series] = Track(point.series, direction, point.service)
                    elif point.service and not track.service:
                        track.service = point.service
                watched = watch(states, batch, config, lambda s: tracks[s].direction)
                states = watched.states
                for verdict in watched.judgements:
                    tracks[verdict.series].add(verdict)
                refused.update(watched.refused)
                for series, why in watched.skipped.items():
                    skipped.setdefault(series, why)
                bar.update(source.position() - bar.n)
    finally:
        source.close()
    for track in tracks.values():
        track.finish()
    unused = sorted(set(chosen) - set(tracks))
    wall_s = time.perf_counter() - began
    return MetricsRun(config, tracks, refusals, refused, skipped, read, wall_s, unused)


def _batches(points: Iterable[MetricPoint]) -> Iterator[list[MetricPoint]]:
    it = iter(points)
    while batch := list(islice(it, BATCH)):
        yield batch
