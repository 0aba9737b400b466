"""Window aggregates and observed dependencies from span records, without a database.

The in-memory twin of the analyzer's SQL (services/analyzer/analyzer/store/windows.py
WINDOW_STATS_SQL and store/traces.py's window dependencies): same keys, same
failure rule, same percentile interpolation, same sample traces. A test runs
both on the same rows in PostgreSQL and asserts equal results, which is what
lets `aiops replay` speak for the live analyzer.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from .detection import KeyKind, SeriesKey, WindowStats
from .rca import Dependency
from .rows import (
    CLIENT,
    ENDPOINT,
    ERROR_KIND,
    INTERNAL,
    KIND,
    LATENCY,
    METHOD,
    PARENT,
    PEER,
    SERVER,
    SERVICE,
    SPAN,
    STATUS,
    TIMEOUT_KINDS,
    TIMESTAMP,
    TRACE,
    SpanRecord,
    span_failed,
)

PERCENTILES = (0.5, 0.95, 0.99)


def window_stats(
    records: Iterable[SpanRecord],
    *,
    start: datetime,
    end: datetime,
    sample_traces: int = 3,
    bars: Mapping[SeriesKey, tuple[float, float]] | None = None,
) -> list[WindowStats]:
    """One aggregate per key with spans in `[start, end)`, in key order (storage.window_stats).

    Server spans make endpoint keys, other spans (but internal ones) edge
    keys by callee; a call without a callee names no edge. A key's spans
    past its two `bars` (detection.count_bars) are counted in `slow_count`
    and `far_count` (0 for a key without bars, None when none are given).
    """
    if sample_traces < 0:
        raise ValueError(f"sample_traces must be >= 0, not {sample_traces}")
    # Per key, parallel lists: cheaper than a tuple per span on the replay hot path.
    latencies: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    failures: dict[tuple[str, str, str], int] = defaultdict(int)
    timeouts: dict[tuple[str, str, str], int] = defaultdict(int)
    worst: dict[tuple[str, str, str], dict[str, tuple[bool, float]]] = defaultdict(dict)
    for record in records:
        at = record[TIMESTAMP]
        kind = record[KIND]
        if kind == INTERNAL or not start <= at < end:
            continue
        if kind == SERVER:
            key = ("endpoint", record[SERVICE], record[ENDPOINT])
        else:
            peer = record[PEER]
            if peer is None:
                continue
            key = ("edge", record[SERVICE], peer)
        latency = record[LATENCY]
        latencies[key].append(latency)
        error_kind = record[ERROR_KIND]
        failed = span_failed(kind, record[STATUS], record[METHOD], error_kind)
        if failed:
            failures[key] += 1
        if error_kind in TIMEOUT_KINDS:
            timeouts[key] += 1
        # A trace's worst span in the key stands for the trace (row_number() = 1).
        traces = worst[key]
        trace = record[TRACE]
        seen = traces.get(trace)
        if seen is None or _worse((failed, latency), seen):
            traces[trace] = (failed, latency)
    stats = []
    for key, values in latencies.items():
        series = SeriesKey(KeyKind(key[0]), key[1], key[2])
        p50, p95, p99 = percentile_cont(sorted(values), PERCENTILES)
        stats.append(
            WindowStats(
                key=series,
                start=start,
                end=end,
                count=len(values),
                error_count=failures[key],
                timeout_count=timeouts[key],
                mean_ms=_sum(values) / len(values),
                p50_ms=p50,
                p95_ms=p95,
                p99_ms=p99,
                sample_trace_ids=_samples(worst[key], sample_traces),
                slow_count=_past(values, bars, series, 0),
                far_count=_past(values, bars, series, 1),
            )
        )
    return sorted(stats, key=lambda s: s.key)


def _past(
    values: Sequence[float],
    bars: Mapping[SeriesKey, tuple[float, float]] | None,
    key: SeriesKey,
    which: int,
) -> int | None:
    """Values past the key's bar number `which` (0 without bars); None when none are given."""
    if bars is None:
        return None
    bar = bars.get(key)
    return 0 if bar is None else sum(1 for value in values if _gt(value, bar[which]))


def _worse(a: tuple[bool, float], b: tuple[bool, float]) -> bool:
    """ORDER BY failed DESC, latency_ms DESC: a failure first, then the slower."""
    return a[0] > b[0] or (a[0] == b[0] and _gt(a[1], b[1]))


def _gt(a: float, b: float) -> bool:
    # PostgreSQL sorts NaN above every number; Python's > is False either way.
    if math.isnan(a):
        return not math.isnan(b)
    return not math.isnan(b) and a > b


def _samples(traces: dict[str, tuple[bool, float]], limit: int) -> tuple[str, ...]:
    """array_agg(trace_id ORDER BY failed DESC, latency_ms DESC, trace_id)[:limit]."""
    ranked = sorted(traces.items(), key=lambda item: (not item[1][0], _desc(item[1][1]), item[0]))
    return tuple(trace for trace, _ in ranked[:limit])


def _desc(latency: float) -> float:
    return -math.inf if math.isnan(latency) else -latency


def _sum(values: Sequence[float]) -> float:
    # Left to right like PostgreSQL's float8 avg (math.fsum would round differently).
    total = 0.0
    for value in values:
        total += value
    return total


def percentile_cont(ordered: Sequence[float], fractions: Iterable[float]) -> list[float]:
    """PostgreSQL's percentile_cont over ascending `ordered`: linear between the nearest ranks."""
    last = len(ordered) - 1
    results = []
    for fraction in fractions:
        position = fraction * last
        low, high = math.floor(position), math.ceil(position)
        if low == high:
            results.append(ordered[low])
        else:
            # float8_lerp: lo + (hi - lo) * proportion, term for term.
            results.append(ordered[low] + (ordered[high] - ordered[low]) * (position - low))
    return results


def window_dependencies(
    records: Iterable[SpanRecord], *, start: datetime, end: datetime, clock_slack_s: float = 2.0
) -> list[Dependency]:
    """Caller→callee edges of the client spans in `[start, end)` (store.traces.window_dependencies).

    The callee is the service that recorded the call's server span (its
    child, looked for up to `clock_slack_s` beyond the window, as services'
    clocks disagree), else the peer the caller named. `records` must hold
    those neighbouring spans too. Sorted by (caller, callee).
    """
    slack = timedelta(seconds=clock_slack_s)
    low, high = start - slack, end + slack
    calls: list[SpanRecord] = []
    served: dict[tuple[str, str], list[str]] = defaultdict(list)
    for record in records:
        kind = record[KIND]
        at = record[TIMESTAMP]
        if kind == CLIENT:
            if start <= at < end:
                calls.append(record)
        elif kind == SERVER and record[PARENT] is not None and low <= at < high:
            served[(record[TRACE], record[PARENT])].append(record[SERVICE])
    edges: dict[tuple[str, str], _Edge] = {}
    for call in calls:
        failed = span_failed(CLIENT, call[STATUS], call[METHOD], call[ERROR_KIND])
        # A LEFT JOIN: every server child counts once; without one, the named peer.
        callees: Sequence[str | None] = served.get((call[TRACE], call[SPAN])) or [call[PEER]]
        for callee in callees:
            if callee is None:
                continue
            at = call[TIMESTAMP]
            edge = edges.get((call[SERVICE], callee))
            if edge is None:
                edges[(call[SERVICE], callee)] = _Edge(1, int(failed), at, at)
            else:
                edge.calls += 1
                edge.errors += int(failed)
                edge.first_seen = min(edge.first_seen, at)
                edge.last_seen = max(edge.last_seen, at)
    return [
        Dependency(caller, callee, e.calls, e.errors, e.first_seen, e.last_seen)
        for (caller, callee), e in sorted(edges.items())
    ]


@dataclass(slots=True)
class _Edge:
    calls: int
    errors: int
    first_seen: datetime
    last_seen: datetime
