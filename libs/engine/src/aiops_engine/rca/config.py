"""The root-cause analysis knobs."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RcaConfig:
    """The root-cause analysis knobs."""

    # An anomaly whose window ends within this many seconds of the previous one joins its group.
    correlation_window_s: float = 300.0
    # With fewer traces than this to follow, a finding also weighs the dependency graph.
    min_traces: int = 3
    # Trace ids a finding keeps, those pointing at the root cause first.
    max_trace_ids: int = 10
    # Suspects a finding lists: every voted one, then anomalous services up to this many.
    max_candidates: int = 5

    def __post_init__(self) -> None:
        window = self.correlation_window_s
        checks = {
            "correlation_window_s": math.isfinite(window) and window >= 0,
            "min_traces": self.min_traces >= 1,
            "max_trace_ids": self.max_trace_ids >= 0,
            "max_candidates": self.max_candidates >= 1,
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            raise ValueError(f"invalid RCA config: {', '.join(bad)}")
