"""Scored scenarios as the console table and the Markdown summary.

Pure functions of the results: the evaluation run prints and writes their output, tests read it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

from aiops_api.analyzer import Incident

from .business_metric import metric_evidence
from .results import RootCause, ScenarioResult
from .summary import NA, Summary, failed, is_control, seconds_text, summarize

COLUMNS: Final = (
    "scenario",
    "detected",
    "time to detect",
    "RCA top-1",
    "RCA top-3",
    "false pos.",
    "false neg.",
    "business metric",  # the expected business-metric anomaly in the root cause's incident
)


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
        seconds_text(r.time_to_detect_s),
        _yes_no(r.rca_top1_correct),
        _yes_no(r.rca_top3_correct),
        str(r.false_positives),
        NA if control else str(r.false_negatives),
        _yes_no(r.business_metric_linked),
    ]


def _paragraph(r: ScenarioResult) -> str:
    expected = ", ".join(str(c) for c in r.expected_root_cause)
    parts = [r.description.rstrip(".") + "." if r.description else ""]
    if is_control(r):
        parts.append("No fault (control): any incident is a false positive.")
    else:
        parts.append(f"Fault: {r.fault}. Expected root cause: **{expected}**.")
        if r.detected:
            ranks = f"top-1 {_yes_no(r.rca_top1_correct)}, top-3 {_yes_no(r.rca_top3_correct)}"
            parts.append(f"Detected {seconds_text(r.time_to_detect_s)} after the fault ({ranks}).")
        else:
            parts.append("**Not detected.**")
        parts.append(_business_sentence(r))
    if not r.incidents:
        parts.append("The analyzer opened no incident.")
    for incident in r.incidents:
        parts.append(_incident_sentence(incident, r.expected_root_cause))
    return " ".join(p for p in parts if p)


def _business_sentence(r: ScenarioResult) -> str:
    """What became of the business-metric anomaly the scenario expects (nothing if none)."""
    series = r.expected_business_metric
    if series is None:
        return ""
    since = r.fault_at or r.started_at
    found = metric_evidence(r.expected_root_cause, series, r.incidents, since=since)
    if found is None:
        return f"**No `{series}` anomaly in the root cause's incident.**"
    explanation = found.explanation.strip().rstrip(".")
    return f"Its business impact is in the root cause's incident: {explanation}."


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


def _ttd_line(summary: Summary) -> str:
    median = seconds_text(summary["time_to_detect_median_s"])
    worst = seconds_text(summary["time_to_detect_worst_s"])
    return f"median {median}, worst {worst} (over {summary['time_to_detect_count']} detected)"


def _md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    return [line(header), line(["---"] * len(header)), *(line(r) for r in rows)]


def _yes_no(value: bool | None) -> str:
    return NA if value is None else ("yes" if value else "no")
