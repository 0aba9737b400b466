"""`rca.png`: AC@1 per fault kind for the engine and both rankers, and detection per kind."""

from __future__ import annotations

from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .metrics import Summary
from .results import LABELS, METHODS

COLOURS = {"engine": "#1f77b4", "growth": "#ff7f0e", "pagerank": "#2ca02c"}


def draw(summary: Summary, path: Path) -> None:
    """Two panels over the kinds (then "all"): AC@1 by method, and the shared detection rate."""
    groups = [*summary.by_kind, summary.overall]
    names = [g.name for g in groups]
    figure = Figure(figsize=(11, 5), layout="constrained")
    FigureCanvasAgg(figure)  # the Agg canvas: no display, no pyplot state
    ranks, detection = figure.subplots(1, 2, width_ratios=(3, 1.4))
    width = 0.8 / len(METHODS)
    for n, method in enumerate(METHODS):
        xs = [i + (n - (len(METHODS) - 1) / 2) * width for i in range(len(groups))]
        values = [g.methods[method].ac1 for g in groups]
        ranks.bar(xs, values, width, label=LABELS[method], color=COLOURS[method])
    ranks.axhline(0.90, color="grey", linestyle="--", linewidth=1, label="target 0.90")
    ranks.axhline(0.75, color="grey", linestyle=":", linewidth=1, label="per-kind floor 0.75")
    ranks.set_xticks(range(len(groups)), names, rotation=30, ha="right")
    ranks.set_ylim(0, 1.05)
    ranks.set_ylabel("AC@1 (share of faults)")
    ranks.set_title("Root cause ranked first, by fault kind")
    # Below the axes: inside, it would hide the bars it explains.
    ranks.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=5, fontsize="small")
    detection.bar(range(len(groups)), [g.detection for g in groups], color="#7f7f7f")
    detection.axhline(0.98, color="black", linestyle="--", linewidth=1, label="target 0.98")
    detection.set_xticks(range(len(groups)), names, rotation=30, ha="right")
    detection.set_ylim(0, 1.05)
    detection.set_title("Detected (shared by every method)")
    detection.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), fontsize="small")
    figure.savefig(path, dpi=110)
