"""Where one trace's trouble starts: the bad spans with nothing bad below them.

A failure or a slowdown propagates upwards: the caller of a failing
service fails too, the caller of a slow one is slow too. So in a trace the
trouble starts at the deepest bad spans, those none of whose children is
bad. This is the seed's "first failure", but it follows the tree rather
than the timestamps, which come from clocks that may disagree.

"Slow" is judged per span against the bar its own series' baseline
implies (detection's `span_thresholds`), so a span is only slow once its
key's baseline judges; failures need no baseline. Failures and slowness
are followed apart: a failed span none of whose children failed is an
origin, and, given each key's typical latency, so is a slow span most of
whose delay is its own time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aiops_engine.detection import (
    Anomaly,
    AnomalyType,
    SeriesKey,
)

from .model import DATABASE, Blame, Origin, Span, Suspect
from .traces import TraceNode


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


def find_origins(
    roots: Sequence[TraceNode],
    slow_ms: Mapping[SeriesKey, float],
    typical_ms: Mapping[SeriesKey, float] | None = None,
) -> list[Origin]:
    """The bad spans none of whose children is bad, in tree order, each with whom it blames;
    and, given each key's typical latency, the slow spans slow by their own time."""
    origins = []
    for root in roots:
        for node in root.walk():
            if not is_bad(node.span, slow_ms):
                continue
            bad = [child.span for child in node.children if is_bad(child.span, slow_ms)]
            if (
                not bad
                or _fails_by_itself(node.span, bad)
                or (typical_ms and _slow_by_itself(node.span, bad, slow_ms, typical_ms))
            ):
                origins.append(_origin(node))
    return origins


def _fails_by_itself(span: Span, bad_children: Sequence[Span]) -> bool:
    """A failed span whose bad children are only slow: the failure starts here.

    Slowness below does not explain an exception (a service throwing while
    a callee is, by chance, slow too); a caller that timed out on a slow
    callee has a failed client span, so the callee is still the origin.
    """
    return span.failed and not any(child.failed for child in bad_children)


def _slow_by_itself(
    span: Span,
    bad_children: Sequence[Span],
    slow_ms: Mapping[SeriesKey, float],
    typical_ms: Mapping[SeriesKey, float],
) -> bool:
    """Whether most of a slow span's delay is its own time, not its bad children's.

    A service whose own work slowed (CPU, a lock) is slow while a callee is,
    by chance, slow too: "the deepest bad span" would blame that callee. So
    the delay, latency minus the key's typical latency, is compared with what
    the bad children's delays explain (a child with no typical: all of it).
    """
    excess = _delay(span, typical_ms)
    if span.failed or excess is None or not is_slow(span, slow_ms):
        return False
    explained = sum(
        max(0.0, _delay(child, typical_ms) or child.latency_ms) for child in bad_children
    )
    return excess - explained >= 0.5 * excess


def _delay(span: Span, typical_ms: Mapping[SeriesKey, float]) -> float | None:
    key = span_key(span)
    typical = None if key is None else typical_ms.get(key)
    return None if typical is None else span.latency_ms - typical


def _origin(node: TraceNode) -> Origin:
    span = node.span
    if span.is_server:
        return Origin(Suspect(span.service, span.endpoint), span, _failed_or_slow(span))
    if span.is_query:
        # The database the query went to, by the name its caller gave it.
        return Origin(Suspect(span.peer_service or DATABASE), span, Blame.DATABASE)
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
