"""Evidence that builds up over points: one-sided CUSUMs of a series' surprises (value minus
expected, in spreads). Each point adds its surprise less an allowance, so the usual wobble
drains away and a small change that holds adds up: `up` and `down` for a level that moved,
`wide` for a noise that grew (surprises larger than they usually are, either way).

No CUSUM for a noise that vanished (a frozen sensor): measured on the benchmark it raised
more false alarms on clipped and quantised series than it found flat-lines."""

from __future__ import annotations

from .config import MetricConfig
from .model import Direction, Leans

_MAX_STEP = 6.0  # spreads one point adds at most: a spike is the point test's to judge
# The usual |surprise| of a normal series is about 0.8 spreads; 1.3 on average is a noise
# about 1.6 times as wide.
_WIDE = 1.3


def leaned(leans: Leans, surprise: float, direction: Direction, config: MetricConfig) -> Leans:
    """`leans` after a point `surprise` spreads from what was expected."""
    # A noise counts where it goes wrong: a one-sided series' dips are no wider noise.
    size = min(abs(surprise), _MAX_STEP) if direction.allows(surprise) else 0.0
    k = config.cusum_allowance
    up = min(surprise, _MAX_STEP) if direction.allows(1.0) else 0.0
    down = min(-surprise, _MAX_STEP) if direction.allows(-1.0) else 0.0
    return Leans(
        up=max(0.0, leans.up + up - k),
        down=max(0.0, leans.down + down - k),
        wide=max(0.0, leans.wide + size - _WIDE),
    )
