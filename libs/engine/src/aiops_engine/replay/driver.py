"""Recorded spans through the analyzer's own window step, in simulated time.

Spans are cut into tumbling windows of `window_s` by start time; each
window then runs what the live cycle runs (aiops_engine.step): detect,
the spans of the anomalies' sample traces, root causes, learning, and the
incident rules in the desk's order. Time is the recording's: a window is
judged once spans have been seen `clock_slack_s + max_disorder_s` past its
end (files are in export order, roughly end time, not start time), and its
incidents are stamped `ingest_lag_s` after it, when the live analyzer would
have read it. Memory stays bounded: windows are dropped once judged, and
traces once older than the correlation window.
"""

from __future__ import annotations

import dataclasses
import math
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import chain

from aiops_engine.detection import (
    Anomaly,
    Baseline,
    DetectionConfig,
    SeriesKey,
    WindowStats,
    count_bars,
)
from aiops_engine.incidents import Incident, IncidentEvent, IncidentPolicy
from aiops_engine.incidents.book import Touch, apply_findings, forget_settled
from aiops_engine.incidents.lifecycle import new_incident_id
from aiops_engine.rca import DependencyGraph, Finding, RcaConfig, Span
from aiops_engine.rows import SPAN, TIMESTAMP, TRACE, SpanRecord, to_span
from aiops_engine.step import SAMPLE_TRACES, conclude_window, judge_window, traces_to_follow
from aiops_engine.windows import window_dependencies, window_stats

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_TRACE_SPANS = 10_000  # store.traces.trace_spans' limit per window


@dataclass(frozen=True, slots=True)
class ReplayConfig:
    """The analyzer's knobs, plus how a recording is cut into windows."""

    detection: DetectionConfig = field(default_factory=DetectionConfig)
    rca: RcaConfig = field(default_factory=RcaConfig)
    policy: IncidentPolicy = field(default_factory=IncidentPolicy)
    window_s: float = 5.0  # the analyzer's default interval
    ingest_lag_s: float = 3.0  # the analyzer's default: when a window's verdict is spoken
    clock_slack_s: float = 2.0  # how far past a window a call's server span is looked for
    max_disorder_s: float = 30.0  # spans arriving later than this behind the newest are late
    sample_traces: int = SAMPLE_TRACES

    def __post_init__(self) -> None:
        if not (math.isfinite(self.window_s) and self.window_s > 0):
            raise ValueError(f"window_s must be a positive number of seconds, not {self.window_s}")
        if self.max_disorder_s < 0 or self.clock_slack_s < 0 or self.ingest_lag_s < 0:
            raise ValueError("max_disorder_s, clock_slack_s and ingest_lag_s must be >= 0")
        # Silence detection needs the real window length, as the analyzer's settings give it.
        object.__setattr__(
            self, "detection", dataclasses.replace(self.detection, window_seconds=self.window_s)
        )


@dataclass(frozen=True, slots=True)
class WindowResult:
    """One judged window: what was seen and said."""

    start: datetime
    end: datetime
    now: datetime  # simulated time of the verdict: end + ingest lag
    windows: tuple[WindowStats, ...]
    anomalies: tuple[Anomaly, ...]
    findings: tuple[Finding, ...]
    events: tuple[IncidentEvent, ...]
    touches: tuple[Touch, ...]


@dataclass
class ReplayCounts:
    spans: int = 0
    late: int = 0  # arrived after their window was judged: counted, not analysed
    unjudged: int = 0  # in the recording's last, partial window
    keys_skipped: int = 0  # key-windows that could not be judged (the others were)
    windows: int = 0
    first_at: datetime | None = None
    last_at: datetime | None = None

    @property
    def duration_s(self) -> float:
        if self.first_at is None or self.last_at is None:
            return 0.0
        return (self.last_at - self.first_at).total_seconds()


@dataclass
class _State:
    baselines: dict[SeriesKey, Baseline] = field(default_factory=dict)
    graph: DependencyGraph = field(default_factory=DependencyGraph)
    active: list[Incident] = field(default_factory=list)  # newest first, as the store lists
    incidents: dict[str, Incident] = field(default_factory=dict)  # every one, latest version


class Replay:
    """Feed span records in batches (`feed`), then `finish`; each returns the windows judged."""

    def __init__(self, config: ReplayConfig | None = None) -> None:
        self.config = config = config or ReplayConfig()
        self.counts = ReplayCounts()
        self.state = _State()
        self._width = timedelta(seconds=config.window_s)
        self._hold = timedelta(seconds=config.clock_slack_s + config.max_disorder_s)
        self._horizon = timedelta(seconds=config.rca.correlation_window_s + config.window_s)
        # Windows a dependency lookup reaches on either side of the judged one.
        self._reach = max(1, math.ceil(config.clock_slack_s / config.window_s))
        self._origin: datetime | None = None
        self._next = 0  # index of the next window to judge
        self._pending: dict[int, list[SpanRecord]] = {}
        self._recent: deque[list[SpanRecord]] = deque(maxlen=self._reach)
        self._traces: dict[str, list[SpanRecord]] = {}  # by first arrival
        self._opened = 0

    @property
    def incidents(self) -> list[Incident]:
        """Every incident, latest version, in the order they were opened."""
        return list(self.state.incidents.values())

    @property
    def held_traces(self) -> dict[str, list[SpanRecord]]:
        """The spans kept for RCA, by trace (bounded by the correlation window)."""
        return self._traces

    def feed(self, records: Iterable[SpanRecord]) -> list[WindowResult]:
        pending, traces, width, counts = self._pending, self._traces, self._width, self.counts
        for record in records:
            at = record[TIMESTAMP]
            if self._origin is None:
                self._begin(at)
            assert self._origin is not None
            index = (at - self._origin) // width
            if index < self._next:
                counts.late += 1
            else:
                bucket = pending.get(index)
                if bucket is None:
                    pending[index] = bucket = []
                bucket.append(record)
            if counts.last_at is None or at > counts.last_at:
                counts.last_at = at
            if counts.first_at is None or at < counts.first_at:
                counts.first_at = at
            spans = traces.get(record[TRACE])
            if spans is None:
                traces[record[TRACE]] = [record]
            else:
                spans.append(record)
            counts.spans += 1
        return self._judge_ready()

    def finish(self) -> list[WindowResult]:
        """Judge every window the recording covers to its end.

        The last, partial window is left out: the recording stopped there, the
        services did not fall silent, and judging it would report silence.
        """
        results: list[WindowResult] = []
        last_at = self.counts.last_at
        if self._origin is None or last_at is None:
            return results
        while self._origin + (self._next + 1) * self._width <= last_at:
            results.append(self._judge(self._next))
        self.counts.unjudged = sum(len(rows) for rows in self._pending.values())
        self._pending.clear()
        return results

    def _begin(self, at: datetime) -> None:
        # Aligned to whole windows since the epoch, and early enough for spans up to
        # max_disorder_s out of order to still find their window.
        first = (at - self._hold - EPOCH) // self._width
        self._origin = EPOCH + first * self._width

    def _judge_ready(self) -> list[WindowResult]:
        results = []
        newest = self.counts.last_at
        while self._origin is not None and newest is not None:
            end = self._origin + (self._next + 1) * self._width
            if end + self._hold > newest:
                break
            results.append(self._judge(self._next))
        return results

    def _judge(self, index: int) -> WindowResult:
        assert self._origin is not None
        config, state = self.config, self.state
        start = self._origin + index * self._width
        end = start + self._width
        rows = self._pending.pop(index, [])
        windows = window_stats(
            rows,
            start=start,
            end=end,
            sample_traces=config.sample_traces,
            bars=count_bars(state.baselines, config.detection),
        )
        judged = judge_window(windows, state.baselines, config.detection, now=end)
        anomalies = judged.anomalies
        ahead = (self._pending.get(index + n, []) for n in range(1, self._reach + 1))
        observed = window_dependencies(
            chain(*self._recent, rows, *ahead),
            start=start,
            end=end,
            clock_slack_s=config.clock_slack_s,
        )
        traces = self._trace_spans(traces_to_follow(anomalies)) if anomalies else {}
        outcome = conclude_window(
            windows,
            anomalies,
            observed,
            traces,
            baselines=state.baselines,
            graph=state.graph,
            config=config.detection,
            rca=config.rca,
        )
        state.baselines, state.graph = outcome.baselines, outcome.graph
        self.counts.keys_skipped += len(judged.skipped) + len(outcome.skipped)
        now = end + timedelta(seconds=config.ingest_lag_s)
        events, touches = apply_findings(
            state.active,
            outcome.findings,
            now=now,
            graph=state.graph,
            policy=config.policy,
            new_id=self._new_id,
        )
        for incident in state.active:
            state.incidents[incident.id] = incident
        forget_settled(state.active, now=now, policy=config.policy)
        self._recent.append(rows)
        self._evict(end - self._horizon)
        self._next = index + 1
        self.counts.windows += 1
        return WindowResult(
            start=start,
            end=end,
            now=now,
            windows=tuple(windows),
            anomalies=tuple(anomalies),
            findings=outcome.findings,
            events=tuple(events),
            touches=tuple(touches),
        )

    def _new_id(self, now: datetime) -> str:
        # Deterministic, unlike the desk's random token: the same file, the same ids.
        self._opened += 1
        return new_incident_id(now, f"{self._opened:04d}")

    def _trace_spans(self, trace_ids: Sequence[str]) -> dict[str, list[Span]]:
        """What store.traces.trace_spans reads, from the spans seen so far."""
        found = [r for t in sorted(set(trace_ids)) for r in self._traces.get(t, ())]
        found.sort(key=lambda r: (r[TIMESTAMP], r[SPAN]))
        traces: dict[str, list[Span]] = {}
        for record in found[:MAX_TRACE_SPANS]:
            traces.setdefault(record[TRACE], []).append(to_span(record))
        return traces

    def _evict(self, cutoff: datetime) -> None:
        """Forget traces that began before `cutoff` (in arrival order, so it stops early)."""
        stale = []
        for trace_id, spans in self._traces.items():
            if spans[0][TIMESTAMP] >= cutoff:
                break
            stale.append(trace_id)
        for trace_id in stale:
            del self._traces[trace_id]
