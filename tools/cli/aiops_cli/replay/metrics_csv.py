"""Metric points from a CSV: `timestamp,series,value` (and optionally `service`), gzip or plain.

What `aiops simulate --metrics` writes, and what a metrics export looks like once its
columns are mapped (`--columns timestamp=Time,series=Name,value=Val`, as for spans: the
same `columns.Layout`, the same times, ISO 8601 or Unix s/ms/µs/ns). A recording can be
larger than memory, so rows are read one at a time. A row that cannot be a point (a time
that is no time, a value that is no number, no series) is counted by reason and skipped,
never raised: one bad line must not cost a replay of millions. A value that is a number
but not a finite one (`nan`, `inf`) is passed on, for the engine to refuse and count
(`Watched.refused`), as the analyzer's cycle does with such a point.
"""

from __future__ import annotations

import csv
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from aiops_cli.client import CliError
from aiops_engine.metrics import MetricPoint

from .columns import Layout, parse_columns
from .inputs import Source

FIELDS = ("timestamp", "series", "value", "service")
REQUIRED = (("timestamp",), ("series",), ("value",))

# Why a row is not a point: a few fixed reasons, so the counts stay few however bad the file.
NO_TIME = "timestamp is not a time"
NO_SERIES = "no series"
NO_VALUE = "value is not a number"
NOT_CSV = "not CSV"
SHOWN = 80  # characters of a bad cell kept in the report


@dataclass
class Refusals:
    """Rows not read, counted by reason, with where each reason first happened and why."""

    counts: Counter[str] = field(default_factory=Counter)
    first: dict[str, str] = field(default_factory=dict)  # reason -> "line 12: ..."

    def note(self, reason: str, line: int, detail: str) -> None:
        self.counts[reason] += 1
        self.first.setdefault(reason, f"line {line}: {detail}")

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def as_list(self) -> list[str]:
        """One line per reason: how many rows, and the first of them."""
        return [f"{self.counts[r]} x {r} (first at {where})" for r, where in self.first.items()]


class MetricRows:
    """Points from a metric CSV's rows; a row that is not one is counted in `refusals`."""

    def __init__(self, layout: Layout, refusals: Refusals) -> None:
        self.layout = layout
        self.refusals = refusals

    def points(
        self, rows: Iterator[list[str]], line_number: Callable[[], int]
    ) -> Iterator[MetricPoint]:
        """The points of `rows`; `line_number` says where the reader is (a cell may span
        lines). A record the CSV reader cannot parse is counted, and reading goes on."""
        while True:
            try:
                row = next(rows)
            except StopIteration:
                return
            except csv.Error as exc:
                self.refusals.note(NOT_CSV, line_number(), _short(str(exc)))
                continue
            if not any(cell.strip() for cell in row):
                continue
            point = self.point(row, line_number())
            if point is not None:
                yield point

    def point(self, row: list[str], line: int) -> MetricPoint | None:
        get = self.layout.get
        try:
            at, _ = self.layout.moment(row, "timestamp")
        except ValueError as exc:
            self.refusals.note(NO_TIME, line, _short(str(exc)))
            return None
        series = get(row, "series")
        if not series:
            self.refusals.note(NO_SERIES, line, "column series: empty")
            return None
        text = get(row, "value")
        try:
            value = float(text)
        except ValueError:
            self.refusals.note(NO_VALUE, line, _short(f"column value: {text!r}"))
            return None
        return MetricPoint(series, at, value, get(row, "service"))


def read_points(source: Source, columns: str | None, refusals: Refusals) -> Iterator[MetricPoint]:
    """Every point of a metric CSV, in file order. A header that lacks a column, or a file
    that cannot be read on (a truncated gzip), is a CliError; a bad row is only counted."""
    mapping = parse_columns(columns, FIELDS)
    reader = csv.reader(source.text())
    try:
        try:
            header = next(reader, None)
        except csv.Error as exc:
            raise CliError(f"{source.path}: the header line is not CSV ({exc})") from None
        if header is None:
            raise CliError(f"{source.path}: empty CSV (no header line)")
        if header:
            header[0] = header[0].removeprefix("\ufeff")  # a spreadsheet's byte-order mark
        layout = Layout.of(header, mapping, FIELDS, REQUIRED)
        yield from MetricRows(layout, refusals).points(reader, lambda: reader.line_num)
    except (OSError, EOFError, zlib.error) as exc:
        raise CliError(f"{source.path}: unreadable after line {reader.line_num} ({exc})") from None


def _short(text: str) -> str:
    return text if len(text) <= SHOWN else text[: SHOWN - 1] + "…"
