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

import csv
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aiops_cli.client import CliError
from aiops_telemetry import SpanRow

from .inputs import Rejections

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
FIELDS = (
    "trace_id", "span_id", "parent_span_id", "service", "start", "end", "duration", "endpoint",
    "kind", "status", "error", "peer_service", "method",
)  # fmt: skip
REQUIRED = ("trace_id", "span_id", "service", "start")
UNITS = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}  # to milliseconds
KINDS = {
    "server": "server", "consumer": "server", "2": "server", "5": "server",
    "client": "client", "producer": "client", "3": "client", "4": "client",
    "internal": "internal", "1": "internal", "0": "internal", "unspecified": "internal",
}  # fmt: skip
OK = {"", "ok", "unset", "0", "1", "false", "no", "status_code_ok", "status_code_unset"}
ERROR = {"error", "err", "2", "true", "yes", "status_code_error", "failed", "failure"}
csv.field_size_limit(1 << 24)  # a stack trace in a cell is long; the default is 128 kB


def parse_columns(spec: str | None) -> dict[str, str]:
    """`field=Column,...` as {field: column}; unknown fields are a usage error."""
    mapping: dict[str, str] = {}
    for part in (spec or "").split(","):
        if not part.strip():
            continue
        name, equals, column = part.partition("=")
        name = name.strip()
        if not equals or not column.strip():
            raise CliError(f"--columns: {part.strip()!r} is not field=Column")
        if name not in FIELDS:
            raise CliError(f"--columns: unknown field {name!r} (fields: {', '.join(FIELDS)})")
        mapping[name] = column.strip()
    return mapping


@dataclass(frozen=True, slots=True)
class Layout:
    """Which position of a CSV row holds each field (None: absent)."""

    positions: dict[str, int]

    @classmethod
    def of(cls, header: list[str], mapping: Mapping[str, str]) -> Layout:
        where = {name.strip(): n for n, name in enumerate(header)}
        positions: dict[str, int] = {}
        for name in FIELDS:
            column = mapping.get(name, name)
            if column in where:
                positions[name] = where[column]
            elif name in mapping:
                raise CliError(
                    f"--columns: {name}={column}: no column {column!r} in the header "
                    f"(columns: {', '.join(header)})"
                )
        missing = [n for n in REQUIRED if n not in positions]
        if "end" not in positions and "duration" not in positions:
            missing.append("end or duration")
        if missing:
            raise CliError(
                f"CSV: no column for {', '.join(missing)} (columns: {', '.join(header)}); "
                "map them with --columns field=Column,..."
            )
        return cls(positions)

    def get(self, row: list[str], name: str) -> str:
        at = self.positions.get(name)
        return row[at].strip() if at is not None and at < len(row) else ""

    def has(self, name: str) -> bool:
        return name in self.positions


def parse_time(text: str) -> tuple[datetime, str | None]:
    """A moment, and the unit it was given in (None for ISO 8601). ValueError if neither."""
    if text.lstrip("-").isdigit():
        number = int(text)
        size = abs(number)
        unit = _unit(size)
        micros = {"ns": number // 1000, "us": number, "ms": number * 1000, "s": number * 10**6}
        return EPOCH + timedelta(microseconds=micros[unit]), unit
    try:
        value = float(text)
    except ValueError:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)), None
    if not math.isfinite(value):
        raise ValueError(f"{text} is not a time")
    unit = _unit(abs(value))
    return EPOCH + timedelta(milliseconds=value * UNITS[unit]), unit


def _unit(size: float) -> str:
    # Unix time in each unit has had this many digits since 1973 (and until 2286).
    return "ns" if size >= 1e17 else "us" if size >= 1e14 else "ms" if size >= 1e11 else "s"


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
        start, unit = _time(line, self.layout, "start")
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
            end, _ = _time(line, self.layout, "end")
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


def _time(line: list[str], layout: Layout, name: str) -> tuple[datetime, str | None]:
    text = layout.get(line, name)
    try:
        return parse_time(text)
    except (ValueError, OverflowError):
        raise ValueError(
            f"column {name}: {text!r} is not a time (Unix s, ms, µs or ns, or ISO 8601)"
        ) from None


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
