"""The verdict of a chaos evaluation: totals over the scored scenarios, and each target met,
missed or not applicable. Pure functions of the results."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Final, TypedDict

from .results import ScenarioResult

# The targets: every fault detected and blamed right, quickly, and silence without one.
MEDIAN_TTD_TARGET_S: Final = 10.0
WORST_TTD_TARGET_S: Final = 30.0

NA: Final = "—"
MET: Final = "met"
MISSED: Final = "missed"
NOT_APPLICABLE: Final = "n/a"  # e.g. no control among the scenarios run (`--only`)
# Starts the note of a scenario that raised: it was not scored, whatever its other fields say.
FAILED_NOTE: Final = "run failed: "


class Target(TypedDict):
    target: str
    value: str
    verdict: str  # MET, MISSED or NOT_APPLICABLE


class Summary(TypedDict):
    fault_scenarios: int
    controls: int
    failed: int
    detected: int
    rca_top1_correct: int
    rca_top3_correct: int
    time_to_detect_median_s: float | None
    time_to_detect_worst_s: float | None
    time_to_detect_count: int
    false_positives: int
    false_positives_control: int
    false_negatives: int
    business_metrics_expected: int  # fault scenarios expecting a business-metric anomaly
    business_metrics_linked: int  # ... that found it in their root cause's incident
    targets: list[Target]
    all_targets_met: bool


def is_control(result: ScenarioResult) -> bool:
    """A no-fault control expects no root cause: any incident during it is a false positive."""
    return not result.expected_root_cause


def failed(result: ScenarioResult) -> bool:
    """The scenario raised before it could be scored (see `FAILED_NOTE`)."""
    return any(note.startswith(FAILED_NOTE) for note in result.notes)


def summarize(results: Sequence[ScenarioResult]) -> Summary:
    """Aggregates over the fault scenarios and the controls, and a verdict per target."""
    faults = [r for r in results if not is_control(r)]
    controls = [r for r in results if is_control(r)]
    detected = sum(r.detected for r in faults)
    top1 = sum(r.rca_top1_correct is True for r in faults)
    top3 = sum(r.rca_top3_correct is True for r in faults)
    # Times of the detections only: a missed fault has none, and fails the detection target.
    ttds = [r.time_to_detect_s for r in faults if r.detected and r.time_to_detect_s is not None]
    median = statistics.median(ttds) if ttds else None
    worst = max(ttds) if ttds else None
    control_fp = sum(_control_incidents(r) for r in controls)
    # A control that crashed saw no incident only because it never ran: that is no pass.
    control_ok = control_fp == 0 and not any(failed(r) for r in controls)
    expecting = [r for r in faults if r.expected_business_metric]
    linked = sum(r.business_metric_linked is True for r in expecting)
    n = len(faults)
    targets = [
        _target("every fault scenario detected", f"{detected}/{n}", bool(faults), detected == n),
        _target("root cause top-1 correct in every one", f"{top1}/{n}", bool(faults), top1 == n),
        _target(
            f"median time to detect ≤ {MEDIAN_TTD_TARGET_S:g} s",
            seconds_text(median),
            bool(faults),
            median is not None and median <= MEDIAN_TTD_TARGET_S,
        ),
        _target(
            f"worst time to detect ≤ {WORST_TTD_TARGET_S:g} s",
            seconds_text(worst),
            bool(faults),
            worst is not None and worst <= WORST_TTD_TARGET_S,
        ),
        _target(
            "business-metric anomaly in the root cause's incident",
            f"{linked}/{len(expecting)}",
            bool(expecting),
            linked == len(expecting),
        ),
        _target(
            "zero incidents during the no-fault control",
            str(control_fp),
            bool(controls),
            control_ok,
        ),
    ]
    return {
        "fault_scenarios": n,
        "controls": len(controls),
        "failed": sum(failed(r) for r in results),
        "detected": detected,
        "rca_top1_correct": top1,
        "rca_top3_correct": top3,
        "time_to_detect_median_s": rounded(median),
        "time_to_detect_worst_s": rounded(worst),
        "time_to_detect_count": len(ttds),
        "false_positives": sum(r.false_positives for r in results),
        "false_positives_control": control_fp,
        "false_negatives": sum(r.false_negatives for r in faults),
        "business_metrics_expected": len(expecting),
        "business_metrics_linked": linked,
        "targets": targets,
        "all_targets_met": all_targets_met(targets),
    }


def all_targets_met(targets: Sequence[Target]) -> bool:
    """No target missed; one that could not be judged (n/a) does not fail the run."""
    return all(t["verdict"] != MISSED for t in targets)


def _control_incidents(r: ScenarioResult) -> int:
    # An incident during a control is a false positive; count one even if the runner only said so
    # through `detected`.
    return max(r.false_positives, int(r.detected))


def _target(name: str, value: str, applicable: bool, met: bool) -> Target:
    verdict = (MET if met else MISSED) if applicable else NOT_APPLICABLE
    return {"target": name, "value": value, "verdict": verdict}


def seconds_text(value: float | None) -> str:
    return NA if value is None else f"{value:.1f} s"


def rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
