"""The analyzer's detection core: pure functions over plain data, no I/O.

Per cycle, `detect(windows, baselines, config, now=...)` turns window
aggregates into anomalies, and `learn(baselines, windows, anomalies, config)`
returns the baselines with every window learned that no anomaly names.
"""

from .baselines import (
    effective_spread,
    is_established,
    latency_threshold,
    learn,
    update_baseline,
)
from .config import DetectionConfig
from .detectors import (
    detect,
    detect_errors,
    detect_latency,
    detect_silence,
    detect_timeouts,
)
from .model import Anomaly, AnomalyType, Baseline, KeyKind, SeriesKey, WindowStats

__all__ = [
    "Anomaly",
    "AnomalyType",
    "Baseline",
    "DetectionConfig",
    "KeyKind",
    "SeriesKey",
    "WindowStats",
    "detect",
    "detect_errors",
    "detect_latency",
    "detect_silence",
    "detect_timeouts",
    "effective_spread",
    "is_established",
    "latency_threshold",
    "learn",
    "update_baseline",
]
