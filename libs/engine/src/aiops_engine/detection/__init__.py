"""The analyzer's detection core: pure functions over plain data, no I/O.

Per cycle, `detect(windows, baselines, config, now=...)` turns window
aggregates into anomalies, and `learn(baselines, windows, anomalies, config)`
returns the baselines with every window learned that no anomaly names.
"""

from .accumulated import detect_accumulated
from .baselines import (
    count_bars,
    effective_spread,
    is_established,
    is_warm,
    latency_threshold,
    median_threshold,
    request_sigma,
    request_threshold,
    span_thresholds,
    tells_far,
    typical_latencies,
    update_baseline,
    usual_share,
    warmup_threshold,
)
from .config import DetectionConfig
from .counting import (
    Counts,
    counts,
    error_chance,
    far_chance,
    is_suspicious,
    own_slowing,
    slow_chance,
    usual_far_share,
)
from .detectors import (
    detect,
    detect_errors,
    detect_latency,
    detect_timeouts,
)
from .evidence import accumulate, holds, system_slowing
from .learning import hold, learn
from .model import (
    Anomaly,
    AnomalyType,
    Baseline,
    Evidence,
    Hour,
    KeyKind,
    Season,
    SeriesKey,
    Tally,
    WindowStats,
)
from .season import is_usual, usual_range
from .silence import detect_silence, system_load
from .throughput import detect_drops

__all__ = [
    "Anomaly",
    "AnomalyType",
    "Baseline",
    "Counts",
    "DetectionConfig",
    "Evidence",
    "Hour",
    "KeyKind",
    "Season",
    "SeriesKey",
    "Tally",
    "WindowStats",
    "accumulate",
    "count_bars",
    "counts",
    "detect",
    "detect_accumulated",
    "detect_drops",
    "detect_errors",
    "detect_latency",
    "detect_silence",
    "detect_timeouts",
    "effective_spread",
    "error_chance",
    "far_chance",
    "hold",
    "holds",
    "is_established",
    "is_suspicious",
    "is_usual",
    "is_warm",
    "latency_threshold",
    "learn",
    "median_threshold",
    "own_slowing",
    "request_sigma",
    "request_threshold",
    "slow_chance",
    "span_thresholds",
    "system_load",
    "system_slowing",
    "tells_far",
    "typical_latencies",
    "update_baseline",
    "usual_far_share",
    "usual_range",
    "usual_share",
    "warmup_threshold",
]
