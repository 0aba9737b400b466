"""The evaluation report: table, evaluation.json, Markdown and timelines from hand-built results."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from aiops_api.analyzer import Incident
from aiops_chaos.evaluate import evaluate, select
from aiops_chaos.evaluation_json import Evaluation, evaluation_json
from aiops_chaos.report import markdown, table
from aiops_chaos.results import RootCause, Sample, ScenarioResult
from aiops_chaos.scenarios import ScenarioError, load_all
from aiops_chaos.stack import Stack, StackSettings
from aiops_chaos.summary import FAILED_NOTE, summarize
from aiops_chaos.timeline import draw_timeline
from aiops_engine.incidents import RootCause as Blamed
from aiops_engine.incidents import Severity, Status
from tests.support.processes import free_port

REPO = Path(__file__).resolve().parents[2]
START = datetime(2026, 1, 5, 10, 0, 0, tzinfo=UTC)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ISSUE_FIELDS = {
    "name", "fault", "expected_root_cause", "detected", "time_to_detect_s",
    "rca_top1_correct", "rca_top3_correct", "false_positives",
}  # fmt: skip
NOTHING_FOUND: dict[str, Any] = {"detected": False, "detected_at": None, "time_to_detect_s": None}


def at(seconds: float) -> datetime:
    return START + timedelta(seconds=seconds)


def incident(ident: str, service: str, endpoint: str | None, confidence: float) -> Incident:
    return Incident(
        id=ident, title=f"{service} in trouble", status=Status.OPEN, severity=Severity.HIGH,
        root_cause=Blamed(service=service, endpoint=endpoint), candidates=[],
        confidence=confidence, explanation=f"{service} {endpoint} failed first in 5/5 traces",
        affected_services=[service], affected_endpoints=[], anomalies=[], sample_trace_ids=[],
        opened_at=at(36), updated_at=at(36), last_anomaly_at=at(36),
    )  # fmt: skip


def samples(fault: tuple[float, float] | None) -> list[Sample]:
    """Two endpoints for two minutes: payment slows and fails in the fault window, one idle gap."""
    out: list[Sample] = []
    for second in (s for s in range(120) if s not in (50, 51)):  # 50-51 unrecorded: a gap
        bad = fault is not None and fault[0] <= second < fault[1]
        n = 0 if second == 70 else 10  # idle: no request, no p50
        out.append(Sample(at(second), "checkout /checkout", n, 0, 12.0))
        p50 = (3000.0 if bad else 5.0) if n else None
        out.append(Sample(at(second), "payment /payment", n, 4 if bad else 0, p50))
    return out


def detected_fault() -> ScenarioResult:
    return ScenarioResult(
        name="payment-delay",
        description="Payment answers 3 s late",
        fault="payment /payment: delay 3000 ms",
        expected_root_cause=[RootCause("payment", "/payment")],
        started_at=START,
        fault_at=at(30),
        fault_until=at(90),
        detected=True,
        detected_at=at(36),
        time_to_detect_s=6.0,
        rca_top1_correct=True,
        rca_top3_correct=True,
        false_positives=0,
        false_negatives=0,
        incidents=[incident("INC-1", "payment", "/payment", 0.83)],
        samples=samples((30, 90)),
    )


def another(
    name: str, description: str, fault: str, *expected: RootCause, **outcome: Any
) -> ScenarioResult:
    """`detected_fault()` made another scenario: its name, what it breaks and expects, `outcome`."""
    return replace(
        detected_fault(),
        name=name,
        description=description,
        fault=fault,
        expected_root_cause=list(expected),
        **outcome,
    )


def missed_fault() -> ScenarioResult:
    return another(
        "inventory-errors", "Inventory fails one request in ten",
        "inventory /reserve: error rate 10%", RootCause("inventory", "/reserve"),
        **NOTHING_FOUND, rca_top1_correct=False, rca_top3_correct=False, false_negatives=1,
        incidents=[], samples=[], notes=["no incident named inventory /reserve"],
    )  # fmt: skip


def two_causes() -> ScenarioResult:
    return another(
        "two-faults", "Payment and the database break together",
        "payment /payment: errors 50%; postgres: pause",
        RootCause("payment", "/payment"), RootCause("postgres"),
        detected_at=at(44), time_to_detect_s=14.0, rca_top1_correct=False, samples=[],
        incidents=[
            incident("INC-2", "payment", "/payment", 0.6),
            incident("INC-3", "checkout", "/checkout", 0.4),
        ],
    )  # fmt: skip


def control() -> ScenarioResult:
    return another(
        "no-fault-control", "Steady traffic, nothing broken", "none",
        fault_at=None, fault_until=None, detected_at=at(80), time_to_detect_s=None,
        rca_top1_correct=None, rca_top3_correct=None, false_positives=1,
        incidents=[incident("INC-4", "inventory", "/stock", 0.3)], samples=samples(None),
    )  # fmt: skip


def all_four() -> list[ScenarioResult]:
    return [detected_fault(), missed_fault(), two_causes(), control()]


def report_json() -> Evaluation:
    urls = {"analyzer": "http://127.0.0.1:8004"}
    return evaluation_json(
        all_four(), started_at=START, finished_at=at(600), stack_info={"urls": urls}
    )


def test_json_has_the_issues_fields_per_scenario_and_round_trips() -> None:
    """Every scenario carries the issue's fields; json.dumps/loads gives the same document."""
    report = report_json()
    assert json.loads(json.dumps(report)) == report
    scenarios = report["scenarios"]
    assert [s["name"] for s in scenarios] == [r.name for r in all_four()]
    for scenario in scenarios:
        assert scenario.keys() >= ISSUE_FIELDS
    first, missed, two, ctl = scenarios
    assert first["expected_root_cause"] == [{"service": "payment", "endpoint": "/payment"}]
    assert first["time_to_detect_s"] == 6.0
    assert first["detected_at"] == at(36).isoformat()
    cause = {"service": "payment", "endpoint": "/payment"}
    assert first["incidents"] == [{"id": "INC-1", "root_cause": cause, "confidence": 0.83}]
    assert (missed["detected"], missed["time_to_detect_s"], missed["false_negatives"]) == (
        False, None, 1,
    )  # fmt: skip
    assert missed["notes"] == ["no incident named inventory /reserve"]
    assert two["expected_root_cause"][1] == {"service": "postgres", "endpoint": None}
    assert ctl["rca_top1_correct"] is None
    assert ctl["false_positives"] == 1


def test_summary_scores_the_targets() -> None:
    """Median of 6 s and 14 s is 10 s (met), worst 14 s (met); a miss and a control FP fail."""
    summary = summarize(all_four())
    assert summary["fault_scenarios"] == 3
    assert summary["detected"] == 2
    assert summary["rca_top1_correct"] == 1
    assert summary["rca_top3_correct"] == 2
    assert summary["time_to_detect_median_s"] == 10.0
    assert summary["time_to_detect_worst_s"] == 14.0
    assert summary["false_positives_control"] == 1
    verdicts = [t["verdict"] for t in summary["targets"]]
    assert verdicts == ["missed", "missed", "met", "met", "n/a", "missed"]
    assert summary["all_targets_met"] is False


def test_targets_are_met_by_a_clean_run_and_not_judged_without_a_control() -> None:
    """All faults found and blamed right with no control run: met, and the control target n/a."""
    summary = summarize([detected_fault()])
    verdicts = [t["verdict"] for t in summary["targets"]]
    assert verdicts == ["met", "met", "met", "met", "n/a", "n/a"]
    assert summary["all_targets_met"] is True


def test_a_control_that_failed_to_run_does_not_pass() -> None:
    """A crashed control saw no incident only because it never ran: the target is missed."""
    crashed = replace(
        control(),
        **NOTHING_FOUND,
        false_positives=0,
        incidents=[],
        notes=[f"{FAILED_NOTE}RuntimeError: the analyzer stopped answering"],
    )
    summary = summarize([detected_fault(), crashed])
    assert summary["failed"] == 1
    assert summary["targets"][-1]["verdict"] == "missed"
    assert table([crashed]).splitlines()[2].split()[:2] == ["no-fault-control", "error"]


def test_table_shows_each_scenario_and_the_target_verdicts() -> None:
    """One row per scenario with "—" for n/a, totals with median/worst and control positives."""
    text = table(all_four())
    lines = text.splitlines()
    assert lines[0].split()[:2] == ["scenario", "detected"]
    rows = {line.split()[0]: line.split() for line in lines[2:6]}
    assert rows["payment-delay"][1:] == ["yes", "6.0", "s", "yes", "yes", "0", "0", "—"]
    assert rows["inventory-errors"][1:] == ["no", "—", "no", "no", "0", "1", "—"]
    assert rows["two-faults"][1:] == ["yes", "14.0", "s", "no", "yes", "0", "0", "—"]
    assert rows["no-fault-control"][1:] == ["—", "—", "—", "—", "1", "—", "—"]
    column = lines[0].index("time to detect")  # aligned: every cell starts under its header
    assert [line[column:].split()[0] for line in lines[1:6]] == ["-" * 14, "6.0", "—", "14.0", "—"]
    assert "median 10.0 s, worst 14.0 s (over 2 detected)" in text
    assert "1 during the control" in text
    assert "missed  every fault scenario detected (2/3)" in text
    assert "met     median time to detect ≤ 10 s (10.0 s)" in text
    assert "missed  zero incidents during the no-fault control (1)" in text


def test_markdown_links_each_png_and_tells_each_incident() -> None:
    """Each scenario gets its image link and its incident's cause, confidence and explanation."""
    results = all_four()
    summary = report_json()["summary"]
    pngs = {r.name: f"{r.name}.png" for r in results}
    text = markdown(results, summary, pngs)
    for result in results:
        assert f"### {result.name}" in text
        assert f"]({result.name}.png)" in text
    assert "| payment-delay | yes | 6.0 s | yes | yes | 0 | 0 | — |" in text
    assert "names **payment /payment** (confidence 83%, an expected cause)" in text
    assert "payment /payment failed first in 5/5 traces" in text
    assert "names **inventory /stock** (confidence 30%, not an expected cause)" in text
    assert "**Not detected.**" in text
    assert "- no incident named inventory /reserve" in text
    assert "| zero incidents during the no-fault control | 1 | missed |" in text


def test_timeline_is_a_png_for_a_detected_fault(tmp_path: Path) -> None:
    """Samples, a shaded fault window and a detection line give a sizeable, reproducible PNG."""
    path = tmp_path / "out" / "payment-delay.png"
    draw_timeline(detected_fault(), path)
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert len(data) > 20_000
    again = tmp_path / "again.png"
    draw_timeline(detected_fault(), again)
    assert again.read_bytes() == data


def test_timeline_is_a_png_for_a_control_and_for_no_samples(tmp_path: Path) -> None:
    """Without a fault window, and even without samples or a detection, a PNG is still drawn."""
    quiet = replace(control(), **NOTHING_FOUND, false_positives=0, incidents=[])
    draw_timeline(quiet, tmp_path / "control.png")
    assert (tmp_path / "control.png").read_bytes()[:8] == PNG_SIGNATURE
    assert (tmp_path / "control.png").stat().st_size > 10_000
    draw_timeline(missed_fault(), tmp_path / "missed.png")
    assert (tmp_path / "missed.png").read_bytes()[:8] == PNG_SIGNATURE


async def test_evaluation_survives_scenarios_that_raise_and_writes_the_report(
    tmp_path: Path,
) -> None:
    """Against a stack that does not answer, each run fails, is scored missed, and reported."""
    scenarios = select(load_all(REPO / "scenarios"), ["two-faults", "control"])
    ports = {name: free_port() for name in ("checkout", "payment", "inventory", "analyzer")}
    settings = StackSettings(REPO, ports | {"postgres": free_port()}, "token", None, None)
    lines: list[str] = []
    async with Stack(settings) as stack:
        results = await evaluate(stack, scenarios, tmp_path / "out", log=lines.append)
    fault, quiet = sorted(results, key=lambda r: r.name != "two-faults")
    assert (fault.detected, fault.rca_top1_correct, fault.false_negatives) == (False, False, 2)
    assert quiet.rca_top1_correct is None
    assert fault.notes[0].startswith(f"{FAILED_NOTE}StackError: the stack is not running")
    report = json.loads((tmp_path / "out" / "evaluation.json").read_text(encoding="utf-8"))
    assert [s["name"] for s in report["scenarios"]] == ["control", "two-faults"]
    assert report["summary"]["failed"] == 2
    assert report["summary"]["all_targets_met"] is False
    assert "analyzer_health_error" in report["stack"]
    text = (tmp_path / "out" / "evaluation.md").read_text(encoding="utf-8")
    assert "](control.png)" in text
    assert "](two-faults.png)" in text
    assert (tmp_path / "out" / "two-faults.png").read_bytes()[:8] == PNG_SIGNATURE
    assert any("some target missed" in line for line in lines)


def test_only_selects_named_scenarios_and_rejects_unknown_ones() -> None:
    """--only keeps the usual order and names the known scenarios when one is unknown."""
    scenarios = load_all(REPO / "scenarios")
    names = [s.name for s in select(scenarios, ["two-faults", "control"])]
    assert names == ["control", "two-faults"]
    assert select(scenarios, None) == scenarios
    with pytest.raises(ScenarioError, match="no scenario 'nope'; known: "):
        select(scenarios, ["nope"])
