"""Reading recordings: OTLP JSON lines (gzip or plain), batch by batch, bad lines counted.

A recording can be larger than memory, so nothing here reads it whole:
`otlp_batches` yields the rows of one line at a time, and `Progress`
reports how far into the file (compressed bytes for gzip) reading is.
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, cast

from aiops_cli.client import CliError
from aiops_telemetry import SpanRow
from aiops_telemetry.otlp import rows_from_otlp_json

GZIP_MAGIC = b"\x1f\x8b"
MAX_REASONS = 10  # distinct reasons shown, each with its first line


@dataclass
class Rejections:
    """What could not be read, and why (each reason once, with where it first happened)."""

    spans: int = 0
    lines: int = 0
    reasons: dict[str, str] = field(default_factory=dict)  # reason -> "line 12"

    def note(self, reason: str, where: str) -> None:
        if reason not in self.reasons and len(self.reasons) < MAX_REASONS:
            self.reasons[reason] = where

    def as_list(self) -> list[str]:
        return [f"{where}: {reason}" for reason, where in self.reasons.items()]


class Source:
    """A recording file opened for reading, gzip or not, with its read position."""

    def __init__(self, path: Path) -> None:
        try:
            self._raw: BinaryIO = path.open("rb")
        except OSError as exc:
            raise CliError(f"cannot read {path}: {exc.strerror or exc}") from None
        self._text: io.TextIOWrapper | None = None
        self.size = path.stat().st_size
        self.path = path
        compressed = self._raw.read(2) == GZIP_MAGIC
        self._raw.seek(0)
        self.stream: BinaryIO = self._raw
        if compressed:
            self.stream = cast(BinaryIO, gzip.GzipFile(fileobj=self._raw, mode="rb"))

    def position(self) -> int:
        return self._raw.tell()

    def text(self) -> io.TextIOWrapper:
        """The file as text (CSV); undecodable bytes become U+FFFD rather than an exception."""
        self._text = io.TextIOWrapper(self.stream, encoding="utf-8", errors="replace", newline="")
        return self._text

    def close(self) -> None:
        if self._text is not None:
            self._text.close()  # closes the streams below it too
        self.stream.close()
        self._raw.close()

    def lines(self) -> Iterator[tuple[int, bytes]]:
        """(line number, line), reading errors (a truncated gzip) as a CliError."""
        number = 0
        try:
            for number, line in enumerate(self.stream, start=1):
                yield number, line
        except (OSError, EOFError) as exc:
            raise CliError(f"{self.path}: unreadable after line {number} ({exc})") from None


def otlp_batches(source: Source, rejections: Rejections) -> Iterator[list[SpanRow]]:
    """The rows of each line (one ExportTraceServiceRequest in OTLP/JSON per line)."""
    for number, line in source.lines():
        if not line.strip():
            continue
        try:
            request = json.loads(line)
        except (ValueError, RecursionError) as exc:
            rejections.lines += 1
            rejections.note(f"not JSON ({_short(exc)})", f"line {number}")
            continue
        if not isinstance(request, dict):
            rejections.lines += 1
            rejections.note("not a JSON object (ExportTraceServiceRequest)", f"line {number}")
            continue
        spans = rows_from_otlp_json(request)
        if spans.rejected or (spans.errors and not spans.rows):
            rejections.spans += spans.rejected
            for reason in spans.errors:
                rejections.note(reason, f"line {number}")
        yield spans.rows


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) <= 120 else text[:119] + "…"
