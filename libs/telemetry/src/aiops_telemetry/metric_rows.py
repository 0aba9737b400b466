"""One `metric_points` row, and the series name that identifies what it measures.

A series is named `service:metric[.kind]{key=value,...}`:

- `service` is the resource's `service.name` (`unknown_service` when missing);
- `metric` is the metric's name;
- `.kind` is added for values derived from what was sent: `.rate` (a
  monotonic sum, per second), `.count`, `.mean`, `.p50`, `.p95` (a
  histogram); a gauge, and a running total as stored, have none;
- the point's attributes follow in braces, sorted by key, when it has any.
  Strings are written as they are, other values as JSON; `\\`, `,`, `=`, `}`
  in keys and values (and `\\`, `{` in the service and metric) get a
  backslash, so the name reads back unambiguously.

So `checkout:http.server.request.duration.p95{http.route=/checkout}`. One
name per series whatever the encoding or the order attributes came in,
which is what the analyzer keys its baselines on. A name over
MAX_SERIES_BYTES (PostgreSQL indexes no longer key) keeps the first
characters of service and metric and replaces the attributes with a hash of
the whole name: `{…#<16 hex digits>}`, still one name per series.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

__all__ = [
    "CUMULATIVE",
    "DERIVED",
    "GAUGE",
    "HISTOGRAM",
    "MAX_SERIES_BYTES",
    "METRIC_COLUMNS",
    "RATE",
    "MetricKind",
    "MetricRow",
    "metric_row",
    "series_name",
    "with_kind",
]

MetricKind = Literal["gauge", "rate", "count", "mean", "p50", "p95", "cumulative", "histogram"]
GAUGE: MetricKind = "gauge"
RATE: MetricKind = "rate"
CUMULATIVE: MetricKind = "cumulative"  # a monotonic counter's running total, as sent
HISTOGRAM: MetricKind = "histogram"  # a cumulative histogram's running state, as sent
# Kinds named in the series (values computed from what was sent).
DERIVED: frozenset[str] = frozenset({"rate", "count", "mean", "p50", "p95"})

_IN_NAME = "\\{"  # escaped in the service and metric
_IN_LABEL = "\\,=}"  # escaped in attribute keys and values
MAX_SERIES_BYTES = 2_400  # a btree entry holds ~2,700 bytes
_KEPT_ON_HASH = 100  # characters of service and of metric kept in a hashed name

METRIC_COLUMNS: tuple[str, ...] = (
    "time",
    "series",
    "service",
    "name",
    "kind",
    "value",
    "unit",
    "attributes",
    "start_time",
    "sum",
    "bounds",
    "bucket_counts",
)

# An exact tuple in METRIC_COLUMNS order, like SpanRow (cheap for the sink to hold).
MetricRow = tuple[
    datetime, str, str, str, str, float, str, str | None, datetime | None, float | None,
    list[float] | None, list[float] | None,
]  # fmt: skip


def metric_row(
    *,
    time: datetime,
    series: str,
    service: str,
    name: str,
    kind: str,
    value: float,
    unit: str = "",
    attributes: str | None = None,
    start_time: datetime | None = None,
    total: float | None = None,
    bounds: Sequence[float] | None = None,
    bucket_counts: Sequence[float] | None = None,
) -> MetricRow:
    """A row in METRIC_COLUMNS order; `attributes` is a JSON object's text (jsonb)."""
    return (
        time, series, service, name, kind, value, unit, attributes, start_time, total,
        None if bounds is None else list(bounds),
        None if bucket_counts is None else list(bucket_counts),
    )  # fmt: skip


def series_name(
    service: str, name: str, attributes: Mapping[str, Any], kind: str | None = None
) -> str:
    """The series of metric `name` of `service` with the point's `attributes`; `kind` is
    added when it is a derived one (DERIVED)."""
    prefix = f"{_escape(service, _IN_NAME)}:{_escape(name, _IN_NAME)}"
    labels = ""
    if attributes:
        pairs = (
            f"{_escape(key, _IN_LABEL)}={_escape(_text(attributes[key]), _IN_LABEL)}"
            for key in sorted(attributes)
        )
        labels = "{" + ",".join(pairs) + "}"
    base = prefix + labels
    if len(base.encode("utf-8", "replace")) > MAX_SERIES_BYTES:
        digest = hashlib.blake2b(base.encode("utf-8", "replace"), digest_size=8).hexdigest()
        kept = (
            _escape(service[:_KEPT_ON_HASH], _IN_NAME)
            + ":"
            + _escape(name[:_KEPT_ON_HASH], _IN_NAME)
        )
        base = f"{kept}{{…#{digest}}}"
    return with_kind(base, kind) if kind is not None else base


def with_kind(series: str, kind: str) -> str:
    """`series` (a base name: no kind) as its derived `kind`: the suffix goes before the
    attributes. Gauges and running totals keep the base name."""
    if kind not in DERIVED:
        return series
    brace = _first_unescaped_brace(series)
    return f"{series[:brace]}.{kind}{series[brace:]}"


def _first_unescaped_brace(series: str) -> int:
    i = 0
    while i < len(series):
        char = series[i]
        if char == "\\":
            i += 2
            continue
        if char == "{":
            return i
        i += 1
    return len(series)


def _escape(text: str, special: str) -> str:
    if not any(char in text for char in special):
        return text
    return "".join(f"\\{char}" if char in special else char for char in text)


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
