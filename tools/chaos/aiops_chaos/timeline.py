"""One PNG per scenario: what the endpoints did around the fault, and when the analyzer noticed."""

from __future__ import annotations

import math
from collections import defaultdict
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


def draw_timeline(result: ScenarioResult, path: Path) -> None:
    """Latency (p50) and error rate per endpoint over the run, fault window and detection marked."""
    figure, canvas = _agg()
    fig = figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI, layout="constrained")
    canvas(fig)
    latency, errors = fig.subplots(2, 1, sharex=True)
    series = _by_endpoint(result.samples)
    palette = [f"C{i}" for i in range(10)]
    for index, (endpoint, samples) in enumerate(sorted(series.items())):
        color = palette[index % len(palette)]
        xs, p50s, rates = _points(samples, result.started_at)
        latency.plot(xs, p50s, color=color, linewidth=1.2, label=endpoint)
        errors.plot(xs, rates, color=color, linewidth=1.2)

    if any(s.p50_ms is not None and s.p50_ms > 0 for s in result.samples):
        latency.set_yscale("log")  # a 3 s delay next to 5 ms baselines
    latency.set_ylabel("p50 latency (ms)")
    errors.set_ylabel("error rate (%)")
    errors.set_ylim(-2, 102)
    errors.set_xlabel(f"seconds since the run start ({_utc(result.started_at)})")
    end = _end_s(result)
    errors.set_xlim(0, max(end, 1.0))

    for ax in (latency, errors):
        ax.grid(True, alpha=0.3)
        _mark_fault(ax, result, end)
        _mark_detection(ax, result)
    _label_detection(latency, result)

    expected = ", ".join(str(c) for c in result.expected_root_cause) or "none (no-fault control)"
    fig.suptitle(f"{result.name}: expected root cause {expected}")
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


def _by_endpoint(samples: list[Sample]) -> dict[str, list[Sample]]:
    series: dict[str, list[Sample]] = defaultdict(list)
    for sample in samples:
        series[sample.endpoint].append(sample)
    return {endpoint: sorted(s, key=lambda x: x.at) for endpoint, s in series.items()}


def _points(samples: list[Sample], start: datetime) -> tuple[list[float], list[float], list[float]]:
    """x (s), p50 (ms) and error rate (%), with NaN where there was no request: a gap."""
    xs: list[float] = []
    p50s: list[float] = []
    rates: list[float] = []
    previous: float | None = None
    for sample in samples:
        x = (sample.at - start).total_seconds()
        if previous is not None and x - previous > GAP_S:
            xs.append((x + previous) / 2)
            p50s.append(math.nan)
            rates.append(math.nan)
        previous = x
        xs.append(x)
        idle = sample.requests == 0
        p50s.append(math.nan if idle or sample.p50_ms is None else sample.p50_ms)
        rates.append(math.nan if idle else 100.0 * sample.errors / sample.requests)
    return xs, p50s, rates


def _end_s(result: ScenarioResult) -> float:
    """Right edge of the plot: the last thing that happened."""
    moments = [s.at for s in result.samples]
    moments += [t for t in (result.fault_until, result.detected_at) if t is not None]
    return max((_offset(result, t) for t in moments), default=0.0)


def _mark_fault(ax: Axes, result: ScenarioResult, end: float) -> None:
    if result.fault_at is None:
        return
    start = _offset(result, result.fault_at)
    # Still active when the run ended (or it crashed): shade to the end of the data.
    stop = end if result.fault_until is None else _offset(result, result.fault_until)
    ax.axvspan(start, max(stop, start), color=FAULT_COLOR, alpha=0.12, label="fault window")


def _mark_detection(ax: Axes, result: ScenarioResult) -> None:
    if result.detected_at is None:
        return
    x = _offset(result, result.detected_at)
    ax.axvline(
        x, color=DETECTED_COLOR, linestyle="--", linewidth=1.5, label=_detection_label(result)
    )


def _label_detection(ax: Axes, result: ScenarioResult) -> None:
    if result.detected_at is None:
        return
    x = _offset(result, result.detected_at)
    ax.annotate(
        _detection_label(result),
        xy=(x, 1.0),
        xycoords=("data", "axes fraction"),
        xytext=(4, -12),
        textcoords="offset points",
        fontsize="small",
    )


def _detection_label(result: ScenarioResult) -> str:
    if result.time_to_detect_s is not None:
        return f"detected (+{result.time_to_detect_s:.1f} s)"
    # A control has no fault to count from: say when, from the run start.
    at = _offset(result, result.detected_at) if result.detected_at else 0.0
    return f"detected (at {at:.1f} s)"


def _offset(result: ScenarioResult, moment: datetime) -> float:
    return (moment - result.started_at).total_seconds()


def _utc(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")
