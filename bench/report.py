"""Results as readable tables on stdout and as `bench/results/latest.json`."""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from .config import Config
from .measure import Series


@dataclass(frozen=True, slots=True)
class Goal:
    """A target we aim for; reported as met or missed, never asserted.

    A ratio to beat by default (`value >= target`); a cost to stay under with
    `at_most=True`.
    """

    name: str
    value: float
    target: float
    at_most: bool = False

    @property
    def met(self) -> bool:
        return self.value <= self.target if self.at_most else self.value >= self.target

    def line(self) -> str:
        verdict = "met" if self.met else "MISSED"
        bound = "<=" if self.at_most else ">="
        return f"goal {self.name} = {self.value:.3f} (target {bound} {self.target:.2f}): {verdict}"

    def as_json(self) -> dict[str, object]:
        return {
            "value": round(self.value, 4),
            "target": self.target,
            "at_most": self.at_most,
            "met": self.met,
        }


@dataclass(frozen=True, slots=True)
class Check:
    """Something that must hold for the numbers to mean anything (e.g. no span dropped)."""

    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"check {self.name}: {'ok' if self.ok else 'FAILED'} ({self.detail})"

    def as_json(self) -> dict[str, object]:
        return {"ok": self.ok, "detail": self.detail}

    @classmethod
    def all_2xx(cls, name: str, load: LoadOutcome) -> Check:
        """Every request of `load` succeeded: a throughput figure with errors means nothing."""
        return cls(
            name,
            load.non_2xx + load.socket_errors == 0,
            f"non-2xx {load.non_2xx}, socket errors {load.socket_errors}",
        )


class LoadOutcome(Protocol):
    """What a wrk run (or a series of them) says about failed requests."""

    @property
    def non_2xx(self) -> int: ...

    @property
    def socket_errors(self) -> int: ...


@dataclass(slots=True)
class Section:
    key: str
    title: str
    headers: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    goals: list[Goal] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    data: dict[str, object] = field(default_factory=dict)
    error: str | None = None
    # The README's row for this section (bench/readme.py), when the section keeps one there.
    summary: str | None = None

    def render(self) -> str:
        out = [f"== {self.key}. {self.title} =="]
        if self.rows:
            out += _table(self.headers, self.rows)
        out += [f"  {note}" for note in self.notes]
        out += [f"  {check.line()}" for check in self.checks]
        out += [f"  {goal.line()}" for goal in self.goals]
        if self.error:
            out.append(f"  ERROR: {self.error}")
        return "\n".join(out)

    def as_json(self) -> dict[str, object]:
        return {
            "title": self.title,
            **self.data,
            "goals": {goal.name: goal.as_json() for goal in self.goals},
            "checks": {check.name: check.as_json() for check in self.checks},
            "notes": self.notes,
            "error": self.error,
        }


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in [headers, *rows]) for i in range(len(headers))]

    def line(cells: list[str]) -> str:
        # First column is a name (left), the rest are numbers (right).
        parts = [cells[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True)
        ]
        return "  " + "  ".join(parts).rstrip()

    return [line(headers), "  " + "  ".join("-" * w for w in widths), *map(line, rows)]


def p95(values: Iterable[float]) -> float:
    """The 95th percentile by nearest rank: a value that was measured."""
    ordered = sorted(values)
    return ordered[math.ceil(0.95 * len(ordered)) - 1]


def count(value: float) -> str:
    return f"{value:,.0f}"


def ratio(value: float) -> str:
    return f"{value:.3f}"


_SERIES_HEADERS = (
    "variant",
    "req/s (median)",
    "min..max",
    "p50 ms",
    "p99 ms",
    "non-2xx",
    "sock err",
)


def series_headers(baseline: str, cpu_labels: tuple[str, ...] = ()) -> list[str]:
    total = ("total",) if len(cpu_labels) > 1 else ()
    cpu = [f"{label} us/req" for label in (*cpu_labels, *total)]
    return [*_SERIES_HEADERS, f"vs {baseline}", *cpu]


def series_row(
    name: str, series: Series, baseline: Series, cpu_labels: tuple[str, ...] = ()
) -> list[str]:
    """Throughput, latency, errors, paired ratio to `baseline`, then CPU us/request per label."""
    low, high = series.spread
    cpu = series.cpu_us
    cells = [f"{cpu[label]:.0f}" if label in cpu else "-" for label in cpu_labels]
    if len(cpu_labels) > 1:
        cells.append(f"{sum(cpu.get(label, 0.0) for label in cpu_labels):.0f}")
    return [
        name,
        count(series.rps),
        f"{count(low)}..{count(high)}",
        f"{series.p50_ms:.2f}",
        f"{series.p99_ms:.2f}",
        count(series.non_2xx),
        count(series.socket_errors),
        ratio(series.ratio(baseline)),
        *cells,
    ]


def per_round(series: Series, baseline: Series) -> str:
    """The paired ratios behind a median, so a reader can see how much they scatter."""
    values = series.ratios(baseline)
    spread = f" (stdev {statistics.stdev(values):.3f})" if len(values) > 1 else ""
    return "[" + ", ".join(ratio(v) for v in values) + "]" + spread


def write_json(path: Path, config: Config, sections: list[Section], elapsed_s: float) -> None:
    report = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "elapsed_s": round(elapsed_s, 1),
        "machine": {
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
            "platform": platform.platform(),
        },
        "config": config.as_json(),
        "sections": {section.key: section.as_json() for section in sections},
        "goals": {
            f"{section.key}:{goal.name}": goal.as_json()
            for section in sections
            for goal in section.goals
        },
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(report, indent=2) + "\n")
    tmp.replace(path)  # a reader never sees half a report
