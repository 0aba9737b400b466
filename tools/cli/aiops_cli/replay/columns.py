"""CSV columns by field name, and the times in them: what span and metric CSVs share.

Public datasets name their columns as they please, so `--columns
field=Column,...` maps each field the reader needs onto the file's header (a
field not named is looked for under its own name), and a time may be written
as Unix seconds, ms, µs or ns or as ISO 8601. One reader of both, so a span
CSV and a metric CSV take the same mapping and the same times.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aiops_cli.client import CliError

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
UNITS = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}  # to milliseconds
TIME_FORMS = "Unix s, ms, µs or ns, or ISO 8601"
csv.field_size_limit(1 << 24)  # a stack trace in a cell is long; the default is 128 kB


def parse_columns(spec: str | None, fields: Sequence[str]) -> dict[str, str]:
    """`field=Column,...` as {field: column}; unknown fields are a usage error."""
    mapping: dict[str, str] = {}
    for part in (spec or "").split(","):
        if not part.strip():
            continue
        name, equals, column = part.partition("=")
        name = name.strip()
        if not equals or not column.strip():
            raise CliError(f"--columns: {part.strip()!r} is not field=Column")
        if name not in fields:
            raise CliError(f"--columns: unknown field {name!r} (fields: {', '.join(fields)})")
        mapping[name] = column.strip()
    return mapping


@dataclass(frozen=True, slots=True)
class Layout:
    """Which position of a CSV row holds each field (None: absent)."""

    positions: dict[str, int]

    @classmethod
    def of(
        cls,
        header: list[str],
        mapping: Mapping[str, str],
        fields: Sequence[str],
        required: Sequence[Sequence[str]],
    ) -> Layout:
        """The layout of `header`; each group in `required` needs a column for one of its
        fields. A mapped column the header lacks, or a required field with none, is a usage
        error naming the header's columns, so a wrong mapping is fixed in one go."""
        where = {name.strip(): n for n, name in enumerate(header)}
        positions: dict[str, int] = {}
        for name in fields:
            column = mapping.get(name, name)
            if column in where:
                positions[name] = where[column]
            elif name in mapping:
                raise CliError(
                    f"--columns: {name}={column}: no column {column!r} in the header "
                    f"(columns: {', '.join(header)})"
                )
        missing = [
            " or ".join(group) for group in required if not any(n in positions for n in group)
        ]
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

    def moment(self, row: list[str], name: str) -> tuple[datetime, str | None]:
        """The time in column `name` and its unit; ValueError naming the column if none."""
        text = self.get(row, name)
        try:
            return parse_time(text)
        except (ValueError, OverflowError):
            raise ValueError(f"column {name}: {text!r} is not a time ({TIME_FORMS})") from None


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
