"""Aligned tables and the formats every view shares: times, shares, milliseconds."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

GAP = "  "


def table(headers: Sequence[str], rows: Iterable[Sequence[object]], *, indent: str = "") -> str:
    """Columns padded to their widest cell; numbers right-aligned, the last column unpadded.

    A column is numeric when all its cells (past the header) look like numbers,
    percentages or durations, so figures line up on their last digit.
    """
    cells = [[_cell(v) for v in row] for row in rows]
    grid = [list(headers), *cells]
    widths = [max(len(row[i]) for row in grid) for i in range(len(headers))]
    numeric = [bool(cells) and all(_numeric(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for row in grid:
        padded = [
            text.rjust(widths[i]) if numeric[i] else text.ljust(widths[i])
            for i, text in enumerate(row)
        ]
        if not numeric[-1]:
            padded[-1] = row[-1]  # no trailing blanks
        lines.append(indent + GAP.join(padded).rstrip())
    return "\n".join(lines)


def fields(pairs: Iterable[tuple[str, object]], *, indent: str = "") -> str:
    """`name  value` lines, the values aligned; continuation lines indented under the value."""
    listed = [(name, _cell(value)) for name, value in pairs]
    width = max((len(name) for name, _ in listed), default=0)
    return "\n".join(
        indent + name.ljust(width) + GAP + value.replace("\n", "\n" + indent + " " * (width + 2))
        for name, value in listed
    )


def when(value: datetime | None) -> str:
    """An API timestamp as `YYYY-MM-DD HH:MM:SS` in UTC, the analyzer's and the logs' zone."""
    if value is None:
        return "-"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def ago(value: datetime | None, now: datetime | None = None) -> str:
    """`when(value)` and how long ago it was, e.g. `2026-11-27 10:00:00 UTC (42 s ago)`."""
    if value is None:
        return "never"
    seconds = ((now or datetime.now(UTC)) - value).total_seconds()
    if seconds < 120:
        span = f"{seconds:.0f} s"
    elif seconds < 7200:
        span = f"{seconds / 60:.0f} min"
    else:
        span = f"{seconds / 3600:.1f} h"
    return f"{when(value)} UTC ({span} ago)"


def share(value: float | None) -> str:
    """0.25 → `25%`; small non-zero shares keep a decimal so they don't read as none."""
    if value is None:
        return "-"
    percent = value * 100
    return f"{percent:.1f}%" if 0 < percent < 10 and percent != int(percent) else f"{percent:.0f}%"


def ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} ms"


def measure(kind: str, value: float | None) -> str:
    """An anomaly's observed, baseline or threshold in its type's unit."""
    if value is None:
        return "-"
    if kind == "latency":
        return ms(value)
    if kind == "silence":
        return f"{value:.0f} req"
    return share(value)  # error_spike and timeout: a share of the window's requests


def target(service: str, endpoint: str | None) -> str:
    """`payment /payment`, or just `postgres` when a whole service is meant."""
    return service if endpoint is None else f"{service} {endpoint}"


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _numeric(text: str) -> bool:
    bare = text.removesuffix("%").removesuffix(" ms").removesuffix(" req").replace(",", "")
    if bare == "-":
        return True
    try:
        float(bare)
    except ValueError:
        return False
    return True
