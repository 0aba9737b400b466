"""One PNG per scenario: what the endpoints did around the fault, and when the analyzer noticed."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from .results import Sample, ScenarioResult

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

WIDTH_IN, HEIGHT_IN, DPI = 12.0, 7.0, 100  # ~1200 x 700 px
GAP_S = 1.5  # samples are per second: a longer silence is drawn as a gap, not a straight line
FAULT_COLOR, DETECTED_COLOR = "#d62728", "#111111"


@dataclass(frozen=True, slots=True)
class Timeline:
    """What one PNG shows: per-endpoint samples, fault windows, detection moments."""

    title: str
    started_at: datetime  # x = 0
    samples: Sequence[Sample]
    faults: Sequence[tuple[datetime, datetime | None]] = ()  # None: still active at the end
    detections: Sequence[tuple[datetime, str]] = ()  # (moment, label)
    gap_s: float = GAP_S  # samples further apart than this are a gap, not a line


def draw_timeline(result: ScenarioResult, path: Path) -> None:
    """Latency (p50) and error rate per endpoint over the run, fault window and detection marked."""
    expected = ", ".join(str(c) for c in result.expected_root_cause) or "none (no-fault control)"
    faults = [] if result.fault_at is None else [(result.fault_at, result.fault_until)]
    detections = [] if result.detected_at is None else [(result.detected_at, _label(result))]
    timeline = Timeline(
        title=f"{result.name}: expected root cause {expected}",
        started_at=result.started_at,
        samples=result.samples,
        faults=faults,
        detections=detections,
    )
    draw(timeline, path)


def draw(timeline: Timeline, path: Path) -> None:
    """The timeline as a PNG at `path` (`aiops replay` draws its recordings with it too)."""
    figure, canvas = _agg()
    fig = figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI, layout="constrained")
    canvas(fig)
    latency, errors = fig.subplots(2, 1, sharex=True)
    series = _by_endpoint(timeline.samples)
    palette = [f"C{i}" for i in range(10)]
    for index, (endpoint, samples) in enumerate(sorted(series.items())):
        color = palette[index % len(palette)]
        xs, p50s, rates = _points(samples, timeline.started_at, timeline.gap_s)
        latency.plot(xs, p50s, color=color, linewidth=1.2, label=endpoint)
        errors.plot(xs, rates, color=color, linewidth=1.2)

    if any(s.p50_ms is not None and s.p50_ms > 0 for s in timeline.samples):
        latency.set_yscale("log")  # a 3 s delay next to 5 ms baselines
    latency.set_ylabel("p50 latency (ms)")
    errors.set_ylabel("error rate (%)")
    errors.set_ylim(-2, 102)
    errors.set_xlabel(f"seconds since the run start ({_utc(timeline.started_at)})")
    end = _end_s(timeline)
    errors.set_xlim(0, max(end, 1.0))

    for ax in (latency, errors):
        ax.grid(True, alpha=0.3)
        _mark_faults(ax, timeline, end)
        _mark_detections(ax, timeline)
    _label_detections(latency, timeline)

    fig.suptitle(timeline.title)
    handles, labels = latency.get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="outside right upper", fontsize="small")
    path.parent.mkdir(parents=True, exist_ok=True)
    # No Software/creation metadata: the same result gives the same bytes.
    fig.savefig(path, format="png", metadata={"Software": None})


def ensure_matplotlib() -> None:
    """Raise the install hint now: better before a ten-minute run than after it."""
    _agg()


def _agg() -> tuple[type[Figure], type[FigureCanvasAgg]]:
    try:
        # The Agg canvas directly, not pyplot: no global figure registry, no display needed.
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:  # the container image leaves matplotlib out
        raise RuntimeError(
            "drawing timelines needs matplotlib: install the dev dependencies: make install"
        ) from exc
    return Figure, FigureCanvasAgg


def _by_endpoint(samples: Sequence[Sample]) -> dict[str, list[Sample]]:
    series: dict[str, list[Sample]] = defaultdict(list)
    for sample in samples:
        series[sample.endpoint].append(sample)
    return {endpoint: sorted(s, key=lambda x: x.at) for endpoint, s in series.items()}


def _points(
    samples: list[Sample], start: datetime, gap_s: float
) -> tuple[list[float], list[float], list[float]]:
    """x (s), p50 (ms) and error rate (%), with NaN where there was no request: a gap."""
    xs: list[float] = []
    p50s: list[float] = []
    rates: list[float] = []
    previous: float | None = None
    for sample in samples:
        x = (sample.at - start).total_seconds()
        if previous is not None and x - previous > gap_s:
            xs.append((x + previous) / 2)
            p50s.append(math.nan)
            rates.append(math.nan)
        previous = x
        xs.append(x)
        idle = sample.requests == 0
        p50s.append(math.nan if idle or sample.p50_ms is None else sample.p50_ms)
        rates.append(math.nan if idle else 100.0 * sample.errors / sample.requests)
    return xs, p50s, rates


def _end_s(timeline: Timeline) -> float:
    """Right edge of the plot: the last thing that happened."""
    moments = [s.at for s in timeline.samples]
    moments += [end for _, end in timeline.faults if end is not None]
    moments += [at for at, _ in timeline.detections]
    return max((_offset(timeline, t) for t in moments), default=0.0)


def _mark_faults(ax: Axes, timeline: Timeline, end: float) -> None:
    for number, (fault_at, fault_until) in enumerate(timeline.faults):
        start = _offset(timeline, fault_at)
        # Still active when the run ended (or it crashed): shade to the end of the data.
        stop = end if fault_until is None else _offset(timeline, fault_until)
        label = "fault window" if number == 0 else None
        ax.axvspan(start, max(stop, start), color=FAULT_COLOR, alpha=0.12, label=label)


def _mark_detections(ax: Axes, timeline: Timeline) -> None:
    for at, label in timeline.detections:
        x = _offset(timeline, at)
        ax.axvline(x, color=DETECTED_COLOR, linestyle="--", linewidth=1.5, label=label)


def _label_detections(ax: Axes, timeline: Timeline) -> None:
    for at, label in timeline.detections:
        ax.annotate(
            label,
            xy=(_offset(timeline, at), 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(4, -12),
            textcoords="offset points",
            fontsize="small",
        )


def _label(result: ScenarioResult) -> str:
    if result.time_to_detect_s is not None:
        return f"detected (+{result.time_to_detect_s:.1f} s)"
    # A control has no fault to count from: say when, from the run start.
    at = (result.detected_at - result.started_at).total_seconds() if result.detected_at else 0.0
    return f"detected (at {at:.1f} s)"


def _offset(timeline: Timeline, moment: datetime) -> float:
    return (moment - timeline.started_at).total_seconds()


def _utc(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")
