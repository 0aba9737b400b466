"""`detect.png`: a few streams with a detector's band, its alarms and the labelled windows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from aiops_engine.metrics.scorecard import runs

from .corpus import Entry
from .run import LABELS, judge_stream

# What the chart shows, one panel each: the first stream of each family in the run.
SHOWN = ("daily", "level_shift", "dip", "tiny")


def chosen(entries: Sequence[Entry]) -> list[Entry]:
    found = []
    for family in SHOWN:
        found += [e for e in entries if e.family == family][:1]
    return found


def draw(entries: Sequence[Entry], detector: str, path: Path) -> bool:
    """A panel per chosen stream: values, the detector's expected value and band, labelled
    windows shaded, alarm onsets marked. False (nothing drawn) if no such stream ran."""
    panels = chosen(entries)
    if not panels:
        return False
    figure = Figure(figsize=(12, 3.2 * len(panels)), layout="constrained")
    FigureCanvasAgg(figure)  # the Agg canvas: no display, no pyplot state
    axes = figure.subplots(len(panels), 1, squeeze=False)[:, 0]
    for ax, entry in zip(axes, panels, strict=True):
        stream = entry.stream()
        verdicts, _ = judge_stream(stream, detector)
        lo, hi = 0, len(stream)
        if stream.labels:  # a day either side of the first window; the whole stream otherwise
            first = stream.labels[0]
            lo = max(0, int(stream.offset(first.start - timedelta(days=1)) // stream.step_s))
            hi = min(hi, int(stream.offset(first.end + timedelta(days=1)) // stream.step_s))
        times = [stream.time(i) for i in range(lo, hi)]
        ax.plot(times, stream.values[lo:hi], color="#444444", linewidth=0.6, label="value")
        if verdicts.lower is not None and verdicts.upper is not None:
            lower = [float("nan") if v is None else v for v in verdicts.lower[lo:hi]]
            upper = [float("nan") if v is None else v for v in verdicts.upper[lo:hi]]
            ax.fill_between(times, lower, upper, color="#1f77b4", alpha=0.18, label="band")
        if verdicts.expected is not None:
            expected = [float("nan") if v is None else v for v in verdicts.expected[lo:hi]]
            ax.plot(times, expected, color="#1f77b4", linewidth=0.8, label="expected")
        shown = [lab for lab in stream.labels if lab.end >= times[0] and lab.start <= times[-1]]
        for n, label in enumerate(shown):
            ax.axvspan(label.start, label.end, color="#ff7f0e", alpha=0.3,
                       label="labelled window" if n == 0 else None)  # fmt: skip
        ax.set_xlim(times[0], times[-1])
        onsets = [first for first, _ in runs(verdicts.anomalous) if lo <= first < hi]
        ax.scatter([stream.time(i) for i in onsets], [stream.values[i] for i in onsets],
                   color="#d62728", marker="v", s=40, zorder=3, label="alarm")  # fmt: skip
        ax.set_title(
            f"{entry.id}: {stream.kind} ({stream.direction}), {stream.step_s // 60}-minute "
            f"steps; {LABELS.get(detector, detector)}, alarms shown: {len(onsets)}",
            fontsize="medium",
        )
        ax.legend(loc="upper left", fontsize="x-small", ncol=5)
    figure.savefig(path, dpi=80)
    return True
