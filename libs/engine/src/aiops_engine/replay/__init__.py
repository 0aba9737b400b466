"""Recorded spans through the analyzer's own engine, offline and in simulated time.

`Replay(config)` takes span records (`aiops_engine.rows`) in batches and
judges window after window as the live analyzer would; `score` compares
the incidents it opened with a list of known faults.
"""

from .driver import Replay, ReplayConfig, ReplayCounts, WindowResult
from .scorecard import Fault, FaultScore, Scorecard, score, service_ranking

__all__ = [
    "Fault",
    "FaultScore",
    "Replay",
    "ReplayConfig",
    "ReplayCounts",
    "Scorecard",
    "WindowResult",
    "score",
    "service_ranking",
]
