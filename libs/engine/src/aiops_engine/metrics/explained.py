"""A metric verdict in words: what the value is, what was expected, and since when."""

from __future__ import annotations

from .model import Adoption, Judgement, Run


def explain(verdict: Judgement, *, run: Run | None, adopted: bool = False) -> str:
    """Why `verdict` is what it is, for the incident and the dashboard."""
    if verdict.expected is None or verdict.lower is None or verdict.upper is None:
        return "still learning"
    side = "above" if verdict.value > verdict.expected else "below"
    text = (
        f"{verdict.series}: {number(verdict.value)} is {side} the expected "
        f"{number(verdict.expected)} (normal {number(verdict.lower)} to {number(verdict.upper)}"
        f"{_ratio(verdict.value, verdict.expected)})"
    )
    if run is None:
        return text + "."
    since = run.since.strftime("%Y-%m-%d %H:%M UTC")
    if adopted:
        return f"{verdict.series}: new normal since {since}: {number(verdict.value)} held."
    return text + f"; away from it since {since} ({run.points} points)."


def number(value: float) -> str:
    """A value as an operator reads it: a few significant figures, however large or small."""
    return f"{value:.4g}"


def _ratio(value: float, expected: float) -> str:
    if expected == 0 or value == 0 or (value > 0) != (expected > 0):
        return ""
    times = value / expected
    if not 0 < times < float("inf"):
        return ""
    return f", {times:.2g}x" if times >= 1 else f", {1 / times:.2g}x lower"


def back_to_normal(verdict: Judgement, adoption: Adoption) -> str:
    """A return to the level from before the last new normal: a recovery, said as one."""
    since = adoption.since.strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"{verdict.series}: {number(verdict.value)} is back to its normal from before the "
        f"change since {since}."
    )
