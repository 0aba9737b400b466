"""Span CSVs (the layout public tracing datasets publish) as telemetry rows, via a column map.

`--columns trace_id=TraceID,span_id=SpanID,...` names the file's column for
each field; a field not named is looked for under its own name. Times are
Unix seconds, ms, µs or ns (told apart by magnitude) or ISO 8601; a
duration (in --duration-unit, default the start's unit) may replace the end.
Without a kind column the kind is inferred (docs/replay.md): a span whose
parent is in another service, or that has no parent, is a server span; one
whose parent is in its own service is a client span when a child of it is
in another service (that service is its callee), else internal work.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timedelta

from aiops_telemetry import SpanRow

from .columns import UNITS, Layout
from .inputs import Rejections

FIELDS = (
    "trace_id", "span_id", "parent_span_id", "service", "start", "end", "duration", "endpoint",
    "kind", "status", "error", "peer_service", "method",
)  # fmt: skip
# Each group needs a column for one of its fields (columns.Layout.of).
REQUIRED = (("trace_id",), ("span_id",), ("service",), ("start",), ("end", "duration"))
KINDS = {
    "server": "server", "consumer": "server", "2": "server", "5": "server",
    "client": "client", "producer": "client", "3": "client", "4": "client",
    "internal": "internal", "1": "internal", "0": "internal", "unspecified": "internal",
}  # fmt: skip
OK = {"", "ok", "unset", "0", "1", "false", "no", "status_code_ok", "status_code_unset"}
ERROR = {"error", "err", "2", "true", "yes", "status_code_error", "failed", "failure"}


class CsvSpans:
    """Rows from a span CSV, line by line; bad lines are counted in `rejections`."""

    def __init__(
        self,
        layout: Layout,
        rejections: Rejections,
        *,
        duration_unit: str | None,
        family: Mapping[tuple[str, str], tuple[str, str | None]] | None = None,
    ) -> None:
        self.layout = layout
        self.rejections = rejections
        self.duration_unit = duration_unit
        # (trace, span) -> (service, a callee service): what kind inference needs.
        self.family = family or {}

    def rows(self, lines: Iterator[list[str]], line_number: Callable[[], int]) -> Iterator[SpanRow]:
        """Rows of `lines`; `line_number` says where the reader is (a cell may span lines)."""
        for line in lines:
            if not any(cell.strip() for cell in line):
                continue
            try:
                yield self.row(line)
            except ValueError as exc:
                self.rejections.spans += 1
                self.rejections.note(str(exc), f"line {line_number()}")

    def row(self, line: list[str]) -> SpanRow:
        get = self.layout.get
        trace, span, service = get(line, "trace_id"), get(line, "span_id"), get(line, "service")
        for name, value in (("trace_id", trace), ("span_id", span), ("service", service)):
            if not value:
                raise ValueError(f"column {name}: empty")
        parent = get(line, "parent_span_id") or None
        if parent in {"0", "0" * 16, "-1", "null", "None"}:
            parent = None
        start, unit = self.layout.moment(line, "start")
        latency = self._latency(line, start, unit)
        status_code, error_kind = self._status(line)
        kind, peer = self._kind(line, trace, span, parent, service)
        endpoint = get(line, "endpoint") or "unnamed"
        method = (get(line, "method") or "OTHER").upper()
        return (
            start, service, endpoint, method, status_code, latency, None, trace, span, parent,
            kind, peer, error_kind, None,
        )  # fmt: skip

    def _latency(self, line: list[str], start: datetime, unit: str | None) -> float:
        if self.layout.has("end") and (text := self.layout.get(line, "end")):
            end, _ = self.layout.moment(line, "end")
            latency = (end - start) / timedelta(milliseconds=1)
        else:
            text = self.layout.get(line, "duration")
            try:
                latency = float(text) * UNITS[self.duration_unit or unit or "ms"]
            except ValueError:
                raise ValueError(f"column duration: {text!r} is not a number") from None
        if not (math.isfinite(latency) and latency >= 0):
            raise ValueError("the span ends before it starts (or its duration is not a number)")
        return latency

    def _status(self, line: list[str]) -> tuple[int | None, str | None]:
        """(status_code, error_kind). Without an HTTP code, OK is 200 and an error 500.

        A span with no status at all would count as a call that got no answer,
        so replay records what the file says in HTTP terms.
        """
        text = self.layout.get(line, "status").lower()
        error = self.layout.get(line, "error").lower() in ERROR
        if text.isdigit() and 100 <= int(text) <= 599:
            code = int(text)
            return code, "error_status" if error and code < 500 else None
        if text in ERROR or error:
            return 500, "error_status"
        if text in OK:
            return 200, None
        raise ValueError(f"column status: {text!r} is neither an HTTP status nor OK/ERROR")

    def _kind(
        self, line: list[str], trace: str, span: str, parent: str | None, service: str
    ) -> tuple[str, str | None]:
        peer = self.layout.get(line, "peer_service") or None
        callee = self.family.get((trace, span), (service, None))[1]
        if self.layout.has("kind"):
            text = self.layout.get(line, "kind").lower().removeprefix("span_kind_")
            kind = KINDS.get(text)
            if kind is None:
                raise ValueError(f"column kind: {text!r} is not a span kind")
            return kind, (peer or callee) if kind == "client" else None
        above = self.family.get((trace, parent)) if parent else None
        if above is None or above[0] != service:
            return "server", None
        return ("client", peer or callee) if callee or peer else ("internal", None)


Family = dict[tuple[str, str], tuple[str, str | None]]


def family_of(lines: Iterator[list[str]], layout: Layout) -> Family:
    """First pass for kind inference: each span's service and one callee in another service."""
    service_of: dict[tuple[str, str], str] = {}
    parent_of: list[tuple[str, str, str]] = []  # (trace, parent, child's service)
    for line in lines:
        trace, span = layout.get(line, "trace_id"), layout.get(line, "span_id")
        service, parent = layout.get(line, "service"), layout.get(line, "parent_span_id")
        if trace and span and service:
            service_of[(trace, span)] = service
            if parent:
                parent_of.append((trace, parent, service))
    family: Family = {key: (service, None) for key, service in service_of.items()}
    for trace, parent, child_service in parent_of:
        mine = family.get((trace, parent))
        if mine is not None and mine[1] is None and mine[0] != child_service:
            family[(trace, parent)] = (mine[0], child_service)
    return family
