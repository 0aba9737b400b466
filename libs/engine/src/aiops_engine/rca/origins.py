"""Where one trace's trouble starts: the bad spans with nothing bad below them.

A failure or a slowdown propagates upwards: the caller of a failing
service fails too, the caller of a slow one is slow too. So in a trace the
trouble starts at the deepest bad spans, those none of whose children is
bad. This is the seed's "first failure", but it follows the tree rather
than the timestamps, which come from clocks that may disagree.

"Slow" is judged per span against the latency threshold its own series'
baseline implies, so a span is only slow once its key has an established
baseline; failures need no baseline.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aiops_engine.detection import (
    Anomaly,
    AnomalyType,
    Baseline,
    DetectionConfig,
    SeriesKey,
    is_established,
    latency_threshold,
)

from .model import DATABASE, Blame, Origin, Span, Suspect
from .traces import TraceNode


def slow_thresholds(
    baselines: Mapping[SeriesKey, Baseline], config: DetectionConfig
) -> dict[SeriesKey, float]:
    """The latency above which one span of a key is slow, for every established baseline."""
    return {
        key: latency_threshold(baseline, config)
        for key, baseline in baselines.items()
        if is_established(baseline, config)
    }


def span_key(span: Span) -> SeriesKey | None:
    """The series a span is counted in, as the window query groups them; None if in none."""
    if span.is_server:
        return SeriesKey.endpoint(span.service, span.endpoint)
    if span.peer_service is None:
        return None
    return SeriesKey.edge(span.service, span.peer_service)


def is_slow(span: Span, slow_ms: Mapping[SeriesKey, float]) -> bool:
    """Slower than its key's threshold; never slow when the key has none."""
    key = span_key(span)
    threshold = None if key is None else slow_ms.get(key)
    return threshold is not None and span.latency_ms > threshold


def is_bad(span: Span, slow_ms: Mapping[SeriesKey, float]) -> bool:
    """Failed, or slow for its key."""
    return span.failed or is_slow(span, slow_ms)


def find_origins(roots: Sequence[TraceNode], slow_ms: Mapping[SeriesKey, float]) -> list[Origin]:
    """The bad spans none of whose children is bad, in tree order, each with whom it blames."""
    origins = []
    for root in roots:
        for node in root.walk():
            if is_bad(node.span, slow_ms) and not any(
                is_bad(child.span, slow_ms) for child in node.children
            ):
                origins.append(_origin(node))
    return origins


def _origin(node: TraceNode) -> Origin:
    span = node.span
    if span.is_server:
        return Origin(Suspect(span.service, span.endpoint), span, _failed_or_slow(span))
    if span.is_query:
        return Origin(Suspect(DATABASE), span, Blame.DATABASE)
    # A bad call whose callee is healthy or silent: the callee is to blame (the
    # caller's own span only measured it). A client span's endpoint is the
    # callee's path, so this names the same suspect as the callee's own span.
    callee = Suspect(span.peer_service or span.service, span.endpoint)
    answered = span.status_code is not None or any(c.span.is_server for c in node.children)
    return Origin(callee, span, _failed_or_slow(span) if answered else Blame.NO_ANSWER)


def _failed_or_slow(span: Span) -> Blame:
    return Blame.FAILED if span.failed else Blame.SLOW


def relevant_origins(
    origins: Sequence[Origin],
    roots: Sequence[TraceNode],
    anomaly: Anomaly,
    slow_ms: Mapping[SeriesKey, float],
) -> list[Origin]:
    """The origins of one trace that can explain `anomaly`.

    A trace can hold independent trouble (payment slow, inventory failing):
    a payment anomaly should not vote for inventory because one of its
    sample traces also went there. So only origins at or below the
    anomaly's own spans count (all of them when the trace lost those spans),
    and of those, slow ones explain a latency anomaly and failed ones an
    error spike, unless no origin is of the matching kind.
    """
    below = _span_ids_below(roots, anomaly.key)
    scoped = [o for o in origins if below is None or o.span.span_id in below]
    if anomaly.type is AnomalyType.LATENCY:
        matching = [o for o in scoped if is_slow(o.span, slow_ms)]
    elif anomaly.type is AnomalyType.ERROR_SPIKE:
        matching = [o for o in scoped if o.span.failed]
    else:  # a timeout can start with a slow callee or a failing one; silence with either
        matching = scoped
    return matching or scoped


def _span_ids_below(roots: Sequence[TraceNode], key: SeriesKey) -> set[str] | None:
    """Ids of the spans of `key` and of everything below them; None if `key` has no span."""
    below: set[str] | None = None
    for root in roots:
        for node in root.walk():
            if span_key(node.span) == key:
                if below is None:
                    below = set()
                below.update(n.span.span_id for n in node.walk())
    return below
