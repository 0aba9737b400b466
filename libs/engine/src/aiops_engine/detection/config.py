"""The detection knobs, with the seed's defaults where the seed had one."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DetectionConfig:
    """Every threshold detection and baseline learning use, in one place."""

    # A request past baseline x this is slow; too many slow ones are a latency anomaly
    # (the seed's LATENCY_MULTIPLIER, 3, judged the window median alone).
    latency_multiplier: float = 2.0
    # Share of failed requests above which a window is an error spike (seed ERROR_RATE_THRESHOLD).
    error_rate_threshold: float = 0.05
    # ... and that many failures must be this improbable at the key's usual error rate
    # (binomial): at 1%, 3 failures in 5 happen once in ~100,000 windows (not a spike), 4 in 5
    # once in ~20 million (a spike); one false spike a day among thousands of keys at most.
    error_p_value: float = 1e-6
    # The usual error rate assumed when none is learned, or the learned one is lower.
    error_rate_floor: float = 0.01
    # Requests a window needs before its latency or error rate is judged or learned (seed).
    min_samples: int = 5
    # Weight of the newest window in a baseline: new = (1 - alpha) x old + alpha x current (seed).
    ewma_alpha: float = 0.1
    # Windows a baseline must have learned before silence is judged against it, and latency
    # with full sensitivity.
    min_windows: int = 10
    # Windows after which latency is judged at all: a fault in the first minute is still found,
    # against `warmup_multiplier` x what little is known (and not learned as normal).
    warmup_windows: int = 2
    warmup_multiplier: float = 5.0
    # A window where more than this share of requests is slow (past `latency_threshold`) ...
    slow_share_threshold: float = 0.05
    # ... and that many slow requests this improbable at the key's usual slow share (binomial)
    # is a latency anomaly: most requests slow (the median moved), or some (it did not).
    slow_p_value: float = 1e-7
    # A window this improbable alone (slow or failed requests) is held, not learned, and judged
    # again with the next window (detection.counting).
    hold_p_value: float = 1e-2
    # Windows a run of evidence spans at most (detection.evidence), keeping its key from
    # being learned meanwhile: long enough for a ramp, or a partial fault on a key with a
    # few requests a window, to show; short enough that a lasting change is learned and
    # an ended fault's hits soon forgotten.
    evidence_windows: int = 24
    # ... and a run this improbable keeps its key from being learned: a ramp is not learned
    # as normal, while a busy spell's slight slowing still is.
    evidence_hold_p_value: float = 1e-3
    # The usual slow share assumed when none is learned, or the learned one is lower.
    slow_rate_floor: float = 0.01
    # Requests a key's usual slow shares are learned over (a window weighs count / (count +
    # this)): a quiet key's tail is learned over minutes, not windows.
    tail_memory: int = 1000
    # One request is slow (for root-cause analysis) only this many of its key's own log
    # spreads above the typical one: about the slowest 1 in 1,000 at 3.
    request_z: float = 3.0
    # Spreads above the baseline a window p50 must also be, so a noisy series needs a bigger jump.
    z_threshold: float = 4.0
    # Floor on the spread as a share of the level, so a very steady series keeps some tolerance.
    min_spread_ratio: float = 0.05
    # A learned window moves the baseline by at most this many spreads (winsorized update).
    clamp_sigmas: float = 3.0
    # No latency anomaly below this window p50: tripling a sub-millisecond span is noise.
    min_latency_ms: float = 5.0
    # Timeouts an edge needs in a window (and a share above error_rate_threshold) to report them.
    min_timeouts: int = 3
    # Length of an analysis window, for keys that sent nothing at all in it.
    window_seconds: float = 10.0
    # A window is quiet when it holds at most this share of the requests its baseline expects.
    silence_ratio: float = 0.1
    # ... and when that few requests is this improbable for the learned rate (Poisson).
    silence_p_value: float = 1e-6
    # A baseline not updated for this long raises no silence: the endpoint was retired.
    silence_forget_s: float = 3600.0
    # A service's requests are a throughput drop when at most this share of the calls its
    # callers made (at their usual ratio) arrived, and that few is `silence_p_value`
    # improbable (detection.throughput).
    drop_ratio: float = 0.75
    # Days of hourly history a key keeps, and the days of it an hour needs before what the
    # key usually does then is known (detection.season): a daily habit is not an incident.
    season_days: int = 15
    seasonal_min_days: int = 3
    # An hour's usual range reaches this many of its window-to-window spreads past its mean.
    seasonal_sigmas: float = 2.0

    def __post_init__(self) -> None:
        checks = {
            "latency_multiplier": self.latency_multiplier > 1,
            "error_rate_threshold": 0 <= self.error_rate_threshold < 1,
            "error_p_value": 0 < self.error_p_value < 1,
            "error_rate_floor": 0 < self.error_rate_floor < 1,
            "min_samples": self.min_samples >= 1,
            "ewma_alpha": 0 < self.ewma_alpha <= 1,
            "min_windows": self.min_windows >= 1,
            "warmup_windows": self.warmup_windows >= 1,
            "warmup_multiplier": self.warmup_multiplier > 1,
            "slow_share_threshold": 0 <= self.slow_share_threshold < 1,
            "slow_p_value": 0 < self.slow_p_value < 1,
            "slow_rate_floor": 0 < self.slow_rate_floor < 1,
            "tail_memory": self.tail_memory >= 0,
            "hold_p_value": 0 <= self.hold_p_value < 1,
            "evidence_windows": self.evidence_windows >= 1,
            "evidence_hold_p_value": 0 <= self.evidence_hold_p_value < 1,
            "request_z": self.request_z >= 0,
            "z_threshold": self.z_threshold >= 0,
            "min_spread_ratio": self.min_spread_ratio > 0,
            "clamp_sigmas": self.clamp_sigmas > 0,
            "min_latency_ms": self.min_latency_ms >= 0,
            "min_timeouts": self.min_timeouts >= 1,
            "window_seconds": self.window_seconds > 0,
            "silence_ratio": 0 <= self.silence_ratio < 1,
            "silence_p_value": 0 < self.silence_p_value < 1,
            "silence_forget_s": self.silence_forget_s > 0,
            "drop_ratio": 0 < self.drop_ratio < 1,
            "season_days": self.season_days >= 1,
            "seasonal_min_days": 1 <= self.seasonal_min_days <= 7,
            "seasonal_sigmas": self.seasonal_sigmas >= 0,
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            raise ValueError(f"invalid detection config: {', '.join(bad)}")
