"""Scored scenarios as the console table, evaluation.json and the Markdown summary.

Pure functions of the results: the evaluation run writes their output, tests read it.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Final, TypedDict

from aiops_api.analyzer import Incident

from .results import RootCause, ScenarioResult

# The targets: every fault detected and blamed right, quickly, and silence without one.
MEDIAN_TTD_TARGET_S: Final = 10.0
WORST_TTD_TARGET_S: Final = 30.0

NA: Final = "—"
MET: Final = "met"
MISSED: Final = "missed"
NOT_APPLICABLE: Final = "n/a"  # e.g. no control among the scenarios run (`--only`)
# Starts the note of a scenario that raised: it was not scored, whatever its other fields say.
FAILED_NOTE: Final = "run failed: "
COLUMNS: Final = (
    "scenario",
    "detected",
    "time to detect",
    "RCA top-1",
    "RCA top-3",
    "false pos.",
    "false neg.",
)


# evaluation.json, as `json.dumps` takes it.


class Cause(TypedDict):
    service: str
    endpoint: str | None


class IncidentSummary(TypedDict):
    id: str
    root_cause: Cause
    confidence: float


class ScenarioJson(TypedDict):
    name: str
    description: str
    fault: str
    expected_root_cause: list[Cause]
    detected: bool
    detected_at: str | None
    time_to_detect_s: float | None
    rca_top1_correct: bool | None
    rca_top3_correct: bool | None
    false_positives: int
    false_negatives: int
    incidents: list[IncidentSummary]
    notes: list[str]


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
    targets: list[Target]
    all_targets_met: bool


class AnalyzerAtStart(TypedDict):
    """The analyzer's own account of itself as the evaluation began (its /health)."""

    status: str
    role: str
    cycles: int
    baselines: int | None


class StackInfo(TypedDict, total=False):
    """Where the evaluation ran; `analyzer`, or why it could not be asked."""

    urls: dict[str, str]
    compose_project: str | None
    analyzer: AnalyzerAtStart
    analyzer_health_error: str


class Evaluation(TypedDict):
    started_at: str
    finished_at: str
    duration_s: float | None
    stack: StackInfo
    scenarios: list[ScenarioJson]
    summary: Summary


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
    n = len(faults)
    targets = [
        _target("every fault scenario detected", f"{detected}/{n}", bool(faults), detected == n),
        _target("root cause top-1 correct in every one", f"{top1}/{n}", bool(faults), top1 == n),
        _target(
            f"median time to detect ≤ {MEDIAN_TTD_TARGET_S:g} s",
            _seconds(median),
            bool(faults),
            median is not None and median <= MEDIAN_TTD_TARGET_S,
        ),
        _target(
            f"worst time to detect ≤ {WORST_TTD_TARGET_S:g} s",
            _seconds(worst),
            bool(faults),
            worst is not None and worst <= WORST_TTD_TARGET_S,
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
        "time_to_detect_median_s": _round(median),
        "time_to_detect_worst_s": _round(worst),
        "time_to_detect_count": len(ttds),
        "false_positives": sum(r.false_positives for r in results),
        "false_positives_control": control_fp,
        "false_negatives": sum(r.false_negatives for r in faults),
        "targets": targets,
        "all_targets_met": all_targets_met(targets),
    }


def all_targets_met(targets: Sequence[Target]) -> bool:
    """No target missed; one that could not be judged (n/a) does not fail the run."""
    return all(t["verdict"] != MISSED for t in targets)


def table(results: Sequence[ScenarioResult]) -> str:
    """Aligned text table, one row per scenario, then the totals and the target verdicts."""
    rows = [list(COLUMNS), *(_row(r) for r in results)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    s = summarize(results)
    n = s["fault_scenarios"]
    lines += [
        "",
        f"detected            {s['detected']}/{n} fault scenarios",
        f"RCA top-1 correct   {s['rca_top1_correct']}/{n}",
        f"RCA top-3 correct   {s['rca_top3_correct']}/{n}",
        f"time to detect      {_ttd_line(s)}",
        f"false positives     {s['false_positives']} total, "
        f"{s['false_positives_control']} during the control",
        f"false negatives     {s['false_negatives']}",
        f"failed to run       {s['failed']}",
        "",
        "targets:",
    ]
    lines += [f"  {t['verdict']:<7} {t['target']} ({t['value']})" for t in s["targets"]]
    verdict = "every target met" if s["all_targets_met"] else "some target missed"
    return "\n".join([*lines, "", verdict])


def evaluation_json(
    results: Sequence[ScenarioResult],
    *,
    started_at: datetime,
    finished_at: datetime,
    stack_info: StackInfo,
) -> Evaluation:
    """The machine-readable report; only JSON types, so `json.dumps` takes it as is."""
    return {
        "started_at": started_at.isoformat(),
        "finished_at": finished_at.isoformat(),
        "duration_s": _round((finished_at - started_at).total_seconds()),
        "stack": stack_info,
        "scenarios": [_scenario_json(r) for r in results],
        "summary": summarize(results),
    }


def markdown(
    results: Sequence[ScenarioResult], summary: Summary, png_names: Mapping[str, str]
) -> str:
    """A readable summary: the table, the targets, then a paragraph and a timeline per scenario.

    `png_names` maps a scenario's name to its PNG, relative to the Markdown file.
    """
    lines = ["# Chaos evaluation", "", *_md_table(list(COLUMNS), [_row(r) for r in results])]
    lines += ["", f"Time to detect: {_ttd_line(summary)}.", "", "## Targets", ""]
    target_rows = [[t["target"], t["value"], t["verdict"]] for t in summary["targets"]]
    lines += _md_table(["target", "value", "verdict"], target_rows)
    overall = "Every target met." if summary["all_targets_met"] else "**Some target missed.**"
    lines += ["", overall, "", "## Scenarios"]
    for result in results:
        lines += ["", f"### {result.name}", "", _paragraph(result)]
        lines += ["", *(f"- {note}" for note in result.notes)] if result.notes else []
        png = png_names.get(result.name)
        if png is not None:
            lines += ["", f"![{result.name}: latency and error rate per endpoint]({png})"]
    return "\n".join(lines) + "\n"


def _row(r: ScenarioResult) -> list[str]:
    control = is_control(r)
    return [
        r.name,
        "error" if failed(r) else NA if control else _yes_no(r.detected),
        _seconds(r.time_to_detect_s),
        _yes_no(r.rca_top1_correct),
        _yes_no(r.rca_top3_correct),
        str(r.false_positives),
        NA if control else str(r.false_negatives),
    ]


def _scenario_json(r: ScenarioResult) -> ScenarioJson:
    return {
        "name": r.name,
        "description": r.description,
        "fault": r.fault,
        "expected_root_cause": [_cause_json(c) for c in r.expected_root_cause],
        "detected": r.detected,
        "detected_at": r.detected_at.isoformat() if r.detected_at else None,
        "time_to_detect_s": _round(r.time_to_detect_s),
        "rca_top1_correct": r.rca_top1_correct,
        "rca_top3_correct": r.rca_top3_correct,
        "false_positives": r.false_positives,
        "false_negatives": r.false_negatives,
        "incidents": [
            {"id": i.id, "root_cause": _incident_cause(i), "confidence": i.confidence}
            for i in r.incidents
        ],
        "notes": list(r.notes),
    }


def _paragraph(r: ScenarioResult) -> str:
    expected = ", ".join(str(c) for c in r.expected_root_cause)
    parts = [r.description.rstrip(".") + "." if r.description else ""]
    if is_control(r):
        parts.append("No fault (control): any incident is a false positive.")
    else:
        parts.append(f"Fault: {r.fault}. Expected root cause: **{expected}**.")
        if r.detected:
            ranks = f"top-1 {_yes_no(r.rca_top1_correct)}, top-3 {_yes_no(r.rca_top3_correct)}"
            parts.append(f"Detected {_seconds(r.time_to_detect_s)} after the fault ({ranks}).")
        else:
            parts.append("**Not detected.**")
    if not r.incidents:
        parts.append("The analyzer opened no incident.")
    for incident in r.incidents:
        parts.append(_incident_sentence(incident, r.expected_root_cause))
    return " ".join(p for p in parts if p)


def _incident_sentence(incident: Incident, expected: Sequence[RootCause]) -> str:
    named = RootCause(incident.root_cause.service, incident.root_cause.endpoint)
    right = any(c.matches(named.service, named.endpoint) for c in expected)
    # Whether it counts as a false positive is the runner's call (it may involve a cause).
    verdict = "an expected cause" if right else "not an expected cause"
    explanation = incident.explanation.strip().rstrip(".")
    why = f": {explanation}" if explanation else ""
    return (
        f"Incident `{incident.id}` names **{named}** "
        f"(confidence {incident.confidence:.0%}, {verdict}){why}."
    )


def _incident_cause(incident: Incident) -> Cause:
    return {"service": incident.root_cause.service, "endpoint": incident.root_cause.endpoint}


def _cause_json(cause: RootCause) -> Cause:
    return {"service": cause.service, "endpoint": cause.endpoint}


def _control_incidents(r: ScenarioResult) -> int:
    # An incident during a control is a false positive; count one even if the runner only said so
    # through `detected`.
    return max(r.false_positives, int(r.detected))


def _target(name: str, value: str, applicable: bool, met: bool) -> Target:
    verdict = (MET if met else MISSED) if applicable else NOT_APPLICABLE
    return {"target": name, "value": value, "verdict": verdict}


def _ttd_line(summary: Summary) -> str:
    median = _seconds(summary["time_to_detect_median_s"])
    worst = _seconds(summary["time_to_detect_worst_s"])
    return f"median {median}, worst {worst} (over {summary['time_to_detect_count']} detected)"


def _md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    return [line(header), line(["---"] * len(header)), *(line(r) for r in rows)]


def _yes_no(value: bool | None) -> str:
    return NA if value is None else ("yes" if value else "no")


def _seconds(value: float | None) -> str:
    return NA if value is None else f"{value:.1f} s"


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
