"""A scenario's expected business-metric anomaly (`expect.business_metric`): scored as met only
when an incident naming the root cause holds it, counted in the verdict, and reported."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aiops_api.analyzer import Incident
from aiops_chaos.business_metric import metric_evidence, metric_linked
from aiops_chaos.evaluation_json import evaluation_json
from aiops_chaos.report import markdown, table
from aiops_chaos.results import RootCause, ScenarioResult
from aiops_chaos.scenarios import ScenarioError, load_all, load_scenario
from aiops_chaos.scoring import passed, summary_line
from aiops_chaos.summary import summarize

REPO = Path(__file__).resolve().parents[2]
START = datetime(2026, 1, 5, 10, 0, 0, tzinfo=UTC)
FAULT = START + timedelta(seconds=170)
CONVERSION = "checkout:conversion"
INVENTORY = RootCause("inventory", "/inventory/reserve")
EXPLAINED = "checkout:conversion: 0 is below the expected 0.98 (normal 0.93 to 1)"


def at(seconds: float) -> datetime:
    return FAULT + timedelta(seconds=seconds)


def anomaly(kind: str, service: str, target: str, *, ended: float) -> dict[str, object]:
    """An anomaly behind an incident, as the analyzer's JSON has it."""
    metric = kind == "metric"
    return {
        "type": "metric" if metric else "error_spike", "kind": kind, "service": service,
        "target": target, "key": target if metric else f"{service} {target}",
        "observed": 0.0 if metric else 1.0, "baseline": 0.98 if metric else 0.0,
        "threshold": 0.93 if metric else 0.05, "score": 1.0, "sample_count": 1,
        "window_start": at(ended - (0 if metric else 5)).isoformat(),
        "window_end": at(ended).isoformat(),
        "explanation": EXPLAINED if metric else f"{service} {target}: 8 of 8 requests failed",
    }  # fmt: skip


def incident(cause: RootCause, *anomalies: dict[str, object]) -> Incident:
    """An incident as the analyzer's incidents API returns it, parsed as the runner does."""
    return Incident.model_validate(
        {
            "id": f"INC-{cause.service}", "title": f"{cause.service} failing", "status": "open",
            "severity": "critical",
            "root_cause": {"service": cause.service, "endpoint": cause.endpoint},
            "candidates": [{"service": cause.service, "endpoint": cause.endpoint, "score": 1.0,
                            "traces": 5, "evidence": "failed first in 5/5 traces"}],
            "confidence": 1.0, "explanation": f"{cause} failed first in 5/5 traces",
            "affected_services": ["checkout", cause.service], "affected_endpoints": [],
            "anomalies": list(anomalies), "sample_trace_ids": [],
            "opened_at": at(5).isoformat(), "updated_at": at(10).isoformat(),
            "last_anomaly_at": at(10).isoformat(),
        }
    )  # fmt: skip


FAILING = anomaly("endpoint", "inventory", "/inventory/reserve", ended=5)
DROP = anomaly("metric", "checkout", CONVERSION, ended=5)


def linked(*incidents: Incident, series: str | None = CONVERSION) -> bool | None:
    return metric_linked([INVENTORY], series, incidents, since=FAULT)


def test_met_when_the_root_causes_incident_holds_the_conversion_anomaly() -> None:
    assert linked(incident(INVENTORY, DROP, FAILING)) is True
    found = metric_evidence([INVENTORY], CONVERSION, [incident(INVENTORY, FAILING, DROP)],
                            since=FAULT)  # fmt: skip
    assert found is not None
    assert (found.kind, found.target, found.explanation) == ("metric", CONVERSION, EXPLAINED)


def test_missed_when_the_drop_is_elsewhere_absent_or_from_before_the_fault() -> None:
    """An incident of its own (blamed on checkout, where the drop shows), none at all, another
    series, or an anomaly of a window that ended before the fault: all missed."""
    checkout = RootCause("checkout", "/checkout")
    assert linked(incident(INVENTORY, FAILING), incident(checkout, DROP)) is False
    assert linked(incident(INVENTORY, FAILING)) is False
    other = anomaly("metric", "checkout", "checkout:revenue_per_minute", ended=5)
    assert linked(incident(INVENTORY, FAILING, other)) is False
    assert linked(incident(INVENTORY, FAILING, anomaly("metric", "checkout", CONVERSION,
                                                       ended=-10))) is False  # fmt: skip


def test_no_incident_at_all_is_missed_and_no_expectation_is_not_judged() -> None:
    assert linked() is False
    assert linked(series=None) is None
    assert linked(incident(INVENTORY, FAILING), series=None) is None


def result(linked: bool | None, series: str | None = CONVERSION) -> ScenarioResult:
    drop = [incident(INVENTORY, FAILING, DROP)] if linked else [incident(INVENTORY, FAILING)]
    return ScenarioResult(
        name="checkout-conversion-drop", description="Reservations fail",
        fault="inventory /inventory/reserve: HTTP 500", expected_root_cause=[INVENTORY],
        started_at=START, fault_at=FAULT, fault_until=at(30), detected=True,
        detected_at=at(6), time_to_detect_s=6.0, rca_top1_correct=True, rca_top3_correct=True,
        false_positives=0, false_negatives=0, incidents=drop,
        expected_business_metric=series, business_metric_linked=linked,
    )  # fmt: skip


def test_the_expectation_counts_in_the_scenarios_verdict_and_the_targets() -> None:
    """Detected and blamed right is not enough when the business impact was not linked."""
    assert passed(result(True))
    assert not passed(result(False))
    assert passed(result(None, series=None))
    assert "checkout:conversion anomaly in the root cause's incident no" in summary_line(
        result(False)
    )
    met, missed = summarize([result(True)]), summarize([result(True), result(False)])
    target = "business-metric anomaly in the root cause's incident"
    assert {t["target"]: (t["value"], t["verdict"]) for t in met["targets"]}[target] == (
        "1/1", "met",
    )  # fmt: skip
    assert {t["target"]: (t["value"], t["verdict"]) for t in missed["targets"]}[target] == (
        "1/2", "missed",
    )  # fmt: skip
    assert (met["all_targets_met"], missed["all_targets_met"]) == (True, False)
    assert (missed["business_metrics_expected"], missed["business_metrics_linked"]) == (2, 1)
    no_expectation = summarize([result(None, series=None)])
    assert no_expectation["targets"][4]["verdict"] == "n/a"


def test_the_report_shows_it_in_json_the_table_and_markdown() -> None:
    good, bad = result(True), replace(result(False), name="conversion-unlinked")
    report = evaluation_json([good, bad], started_at=START, finished_at=at(60),
                             stack_info={"urls": {}})  # fmt: skip
    first, second = report["scenarios"]
    assert (first["expected_business_metric"], first["business_metric_linked"]) == (
        CONVERSION, True,
    )  # fmt: skip
    assert second["business_metric_linked"] is False
    lines = table([good, bad]).splitlines()
    assert lines[0].split()[-2:] == ["business", "metric"]
    assert [line.split()[-1] for line in lines[2:4]] == ["yes", "no"]
    text = markdown([good, bad], report["summary"], {})
    assert f"Its business impact is in the root cause's incident: {EXPLAINED}." in text
    assert "**No `checkout:conversion` anomaly in the root cause's incident.**" in text
    assert "| business-metric anomaly in the root cause's incident | 1/2 | missed |" in text


def test_the_conversion_drop_scenario_expects_inventory_and_the_conversion_anomaly() -> None:
    """Reservations fail after a warm-up long enough for conversion (30 points of 5 s) to be
    judged, even when no earlier scenario taught it."""
    scenario = {s.name: s for s in load_all(REPO / "scenarios")}["checkout-conversion-drop"]
    assert scenario.expected == [INVENTORY]
    assert scenario.expect.business_metric == CONVERSION
    assert scenario.traffic.warmup_s >= 30 * 5
    [fault] = scenario.faults
    assert (fault.service, fault.kind, fault.endpoint, fault.rate) == (
        "inventory", "error", "/inventory/reserve", 1.0,
    )  # fmt: skip
    assert scenario.expect.detect_within_s == 30


def test_a_control_cannot_expect_a_business_metric_and_a_series_needs_a_service(
    tmp_path: Path,
) -> None:
    base = 'name = "{name}"\ndescription = "d"\n'
    control = tmp_path / "quiet.toml"
    control.write_text(
        base.format(name="quiet") + '[expect]\nroot_causes = []\nbusiness_metric = "a:b"\n'
    )
    with pytest.raises(ScenarioError, match=r"a control .* expects no business-metric anomaly"):
        load_scenario(control)
    unnamed = tmp_path / "unnamed.toml"
    unnamed.write_text(
        base.format(name="unnamed")
        + '[[faults]]\nservice = "payment"\nkind = "stop"\n'
        + '[expect]\nroot_causes = [{ service = "payment" }]\nbusiness_metric = "conversion"\n'
    )
    with pytest.raises(ScenarioError, match=r"expect\.business_metric"):
        load_scenario(unnamed)
