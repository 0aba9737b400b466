"""What a detector says about a stream: per point, anomalous or not, and the band it judged by."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from aiops_simulate import Stream


@dataclass(frozen=True, slots=True)
class Verdicts:
    """One verdict per point. `expected`, `lower` and `upper` (None where the detector had no
    opinion yet) are only for the chart; the score reads `anomalous` alone."""

    anomalous: Sequence[bool]
    expected: Sequence[float | None] | None = None
    lower: Sequence[float | None] | None = None
    upper: Sequence[float | None] | None = None
    # A threshold detector's signed deviation in its own sds (0 where it has no opinion):
    # flags at other thresholds are `flags_at(direction, z, k)`, for tuning k on the tune split.
    z: Sequence[float] | None = None


# A detector sees the whole stream but must judge each point from the points before it only
# (every one here walks forward); it honours `stream.direction`.
Detector = Callable[[Stream], Verdicts]


def allowed(direction: str, deviation: float) -> bool:
    """Whether a deviation of this sign is an anomaly for a series of `direction`."""
    if direction == "up":
        return deviation > 0
    if direction == "down":
        return deviation < 0
    return deviation != 0


def flags_at(direction: str, z: Sequence[float], k: float) -> list[bool]:
    """Anomalous where the deviation is beyond k sds in an allowed direction."""
    if direction == "up":
        return [d > k for d in z]
    if direction == "down":
        return [d < -k for d in z]
    return [abs(d) > k for d in z]
