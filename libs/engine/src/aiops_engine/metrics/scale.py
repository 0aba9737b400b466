"""The scale a series is judged on: asinh(value / scale), like a logarithm well past the scale
(a doubling is a doubling at 1 ms or at 1e12) and linear through 0 (zeros and negative values
are judged too). The scale is a share of the first value that is not 0."""

from __future__ import annotations

import math

SCALE_SHARE = 0.3  # the scale is this share of the first value that is not 0
_EXACT = 20.0  # below this, sinh is computed as is; past it, through its logarithm
_LOG_MAX = 709.0  # the logarithm of about the largest float


def to_scale(value: float, scale: float) -> float:
    """`value` as the detector sees it: asinh(value / scale); 0 stays 0. Past what a float
    holds, the logarithm asinh becomes there."""
    if scale <= 0:
        return 0.0
    ratio = value / scale
    if math.isfinite(ratio):
        return math.asinh(ratio)
    return math.copysign(math.log(2) + math.log(abs(value)) - math.log(scale), value)


def from_scale(y: float, scale: float) -> float:
    """Back from the detector's scale to the series' own units (at most the largest float)."""
    if scale <= 0:
        return 0.0
    if abs(y) < _EXACT:
        return scale * math.sinh(y)
    return math.copysign(math.exp(min(math.log(scale) + abs(y) - math.log(2), _LOG_MAX)), y)
