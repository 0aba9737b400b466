"""Scoring a run: the analyzer's incidents, as its API returns them, against the ground truth."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from aiops_api.analyzer import BaselineRecord, Incident
from aiops_chaos.results import RootCause, ScenarioResult
from aiops_chaos.scoring import (
    all_named,
    describe_incident,
    merge_incidents,
    missing_baselines,
    note_sightings,
    passed,
    score,
)
from aiops_engine.detection import Baseline, SeriesKey

START = datetime(2026, 1, 5, 10, 0, 0, tzinfo=UTC)  # the clean start of the run
FAULT = START + timedelta(seconds=15)  # after the warm-up
PAYMENT = RootCause("payment", "/payment")
INVENTORY = RootCause("inventory", None)


def at(seconds: float) -> datetime:
    return START + timedelta(seconds=seconds)


def stamp(seconds: float) -> str:
    """As the analyzer's JSON writes times."""
    return at(seconds).isoformat().replace("+00:00", "Z")


def slow(cause: tuple[str, str | None], *, ended: float) -> dict[str, object]:
    """An anomaly behind an incident, as its JSON has it."""
    service, endpoint = cause
    return {
        "type": "latency", "key": f"{service} {endpoint}", "kind": "endpoint",
        "service": service, "target": endpoint or "", "observed": 2900.0, "baseline": 9.0,
        "threshold": 27.0, "score": 0.99, "sample_count": 40,
        "window_start": stamp(ended - 1), "window_end": stamp(ended),
        "explanation": f"{service} p50 2900 ms, baseline 9 ms",
    }  # fmt: skip


def incident(
    ident: str,
    cause: tuple[str, str | None],
    *,
    opened: float,
    updated: float | None = None,
    last_anomaly: float | None = None,
    status: str = "open",
    candidates: Sequence[tuple[str, str | None]] = (),
    affected: Sequence[str] = (),
    version: int = 1,
) -> Incident:
    """An incident as the analyzer's JSON has it, parsed as the chaos tool parses it."""
    ranked = list(candidates) or [cause]
    return Incident.model_validate(
        {
            "id": ident,
            "title": f"{cause[0]} in trouble",
            "status": status,
            "severity": "high",
            "root_cause": {"service": cause[0], "endpoint": cause[1]},
            "candidates": [
                {"service": s, "endpoint": e, "score": 0.5, "traces": 3, "evidence": f"{s} first"}
                for s, e in ranked
            ],
            "confidence": 0.8,
            "explanation": f"{cause[0]} {cause[1]} failed first in 4/5 traces",
            "affected_services": list(affected) or [cause[0]],
            "affected_endpoints": [f"{cause[0]} {cause[1]}"],
            "anomalies": [slow(cause, ended=opened)],
            "sample_trace_ids": ["t1"],
            "opened_at": stamp(opened),
            "updated_at": stamp(opened if updated is None else updated),
            # Evidence moves both stamps; a status change only updated_at (pass last_anomaly then).
            "last_anomaly_at": stamp(
                last_anomaly if last_anomaly is not None else opened if updated is None else updated
            ),
            "reopen_count": 0,
            "version": version,
        }
    )


def test_an_incident_naming_the_cause_after_the_fault_is_a_correct_detection() -> None:
    """Opened 9 s after the fault, first seen at 10 s: detected, top-1, nothing false."""
    found = incident("INC-1", ("payment", "/payment"), opened=24)
    result = score(
        [PAYMENT], [found], started_at=START, fault_at=FAULT, first_seen={"INC-1": at(25)}
    )
    assert result.detected
    assert result.rca_top1_correct
    assert result.rca_top3_correct
    assert result.detected_at == at(25)
    assert result.time_to_detect_s == 10.0
    assert (result.false_positives, result.false_negatives) == (0, 0)
    assert [i.id for i in result.incidents] == ["INC-1"]


def test_a_warm_up_false_alarm_resolved_after_the_fault_is_no_detection() -> None:
    """Resolving moves updated_at, yet finds nothing: still a false positive, not a detection."""
    alarm = incident(
        "INC-w", ("payment", "/payment"), opened=5, updated=30, last_anomaly=5, status="resolved"
    )
    result = score([PAYMENT], [alarm], started_at=START, fault_at=FAULT)
    assert not result.detected
    assert result.false_positives == 1


def test_blaming_the_wrong_service_first_is_not_top1_even_if_another_incident_is_right() -> None:
    """Scatter-shot blame fails: the first incident about payment names checkout."""
    wrong = incident(
        "INC-a", ("checkout", "/checkout"), opened=20, affected=["checkout", "payment"]
    )
    right = incident("INC-b", ("payment", "/payment"), opened=40)
    result = score([PAYMENT], [wrong, right], started_at=START, fault_at=FAULT)
    assert result.detected
    assert result.rca_top1_correct is False
    assert result.false_positives == 1


def test_a_reopened_incident_counts_as_a_detection() -> None:
    """Opened long before the run, reopened (updated) after the fault: it detects the fault."""
    reopened = incident("INC-old", ("payment", "/payment"), opened=-200, updated=22)
    result = score([PAYMENT], [reopened], started_at=START, fault_at=FAULT)
    assert result.detected
    assert result.rca_top1_correct
    assert result.time_to_detect_s == 7.0  # from updated_at, no poll having seen it
    assert result.false_positives == 0


def test_incidents_untouched_since_before_the_run_are_ignored() -> None:
    """An incident resolved before the clean start is no part of the run."""
    old = incident("INC-old", ("checkout", "/checkout"), opened=-300, updated=-5, status="resolved")
    result = score([PAYMENT], [old], started_at=START, fault_at=FAULT)
    assert not result.detected
    assert result.incidents == []
    assert (result.false_positives, result.false_negatives) == (0, 1)


def test_two_faults_need_two_incidents() -> None:
    """One incident cannot name two causes: the second cause is a false negative until its own."""
    payment = incident("INC-p", ("payment", "/payment"), opened=25)
    alone = score([PAYMENT, INVENTORY], [payment], started_at=START, fault_at=FAULT)
    assert not alone.detected
    assert alone.rca_top1_correct is False
    assert alone.false_negatives == 1
    inventory = incident("INC-i", ("inventory", "/inventory/{sku}"), opened=28)
    both = score([PAYMENT, INVENTORY], [payment, inventory], started_at=START, fault_at=FAULT)
    assert both.detected
    assert both.rca_top1_correct
    assert both.rca_top3_correct
    assert both.time_to_detect_s == 13.0  # when the second cause had its incident
    assert (both.false_positives, both.false_negatives) == (0, 0)


def test_the_control_counts_every_incident_as_a_false_positive() -> None:
    """With no expected cause, whatever opened during the run is false, and detection is moot."""
    first = incident("INC-a", ("checkout", "/checkout"), opened=30)
    second = incident("INC-b", ("payment", "/payment"), opened=-100, updated=50)
    result = score([], [first, second], started_at=START, fault_at=None)
    assert result.false_positives == 2
    assert result.detected
    assert result.detected_at == at(30)
    assert result.rca_top1_correct is None
    assert result.rca_top3_correct is None
    assert result.time_to_detect_s is None
    quiet = score([], [], started_at=START, fault_at=None)
    assert not quiet.detected
    assert quiet.false_positives == 0


def test_top3_accepts_the_cause_among_the_first_three_candidates() -> None:
    """Blaming checkout with payment second: detected, top-3 but not top-1, one false positive."""
    wrong = incident(
        "INC-c",
        ("checkout", "/checkout"),
        opened=24,
        candidates=[("checkout", "/checkout"), ("payment", "/payment")],
        affected=["checkout", "payment"],
    )
    result = score([PAYMENT], [wrong], started_at=START, fault_at=FAULT)
    assert result.detected
    assert result.rca_top1_correct is False
    assert result.rca_top3_correct is True
    assert (result.false_positives, result.false_negatives) == (1, 1)


def test_a_fourth_candidate_is_not_top3() -> None:
    """The cause ranked fourth misses top-3, though the incident still involves it."""
    ranked = [("checkout", "/checkout"), ("inventory", "/inventory/reserve"),
              ("postgres", None), ("payment", "/payment")]  # fmt: skip
    far = incident("INC-f", ("checkout", "/checkout"), opened=24, candidates=ranked)
    result = score([PAYMENT], [far], started_at=START, fault_at=FAULT)
    assert result.detected
    assert result.rca_top3_correct is False


def test_an_incident_from_the_warm_up_is_a_false_positive_not_a_detection() -> None:
    """Naming payment before payment broke is noise, even if the cause is right."""
    early = incident("INC-w", ("payment", "/payment"), opened=5)
    result = score([PAYMENT], [early], started_at=START, fault_at=FAULT)
    assert not result.detected
    assert (result.false_positives, result.false_negatives) == (1, 1)


def test_sightings_keep_the_first_poll_of_each_open_incident_since_the_fault() -> None:
    """Resolved incidents and ones unchanged since before the fault are not sightings."""
    seen = note_sightings(
        {},
        [
            incident("INC-1", ("payment", "/payment"), opened=20),
            incident("INC-2", ("payment", "/payment"), opened=-50, updated=10),
            incident("INC-3", ("payment", "/payment"), opened=21, status="resolved"),
        ],
        since=FAULT,
        now=at(22),
    )
    assert seen == {"INC-1": at(22)}
    again = note_sightings(seen, [incident("INC-1", ("payment", None), opened=20)], since=FAULT,
                           now=at(30))  # fmt: skip
    assert again == {"INC-1": at(22)}


def test_merging_keeps_the_latest_version_of_each_incident() -> None:
    """Polls and the final listing merge by id, newest update winning."""
    polled = incident("INC-1", ("checkout", "/checkout"), opened=20, version=1)
    final = incident("INC-1", ("payment", "/payment"), opened=20, updated=30, version=3)
    other = incident("INC-2", ("inventory", None), opened=25)
    merged = merge_incidents([polled, other], [final])
    assert sorted(i.id for i in merged) == ["INC-1", "INC-2"]
    assert next(i for i in merged if i.id == "INC-1").root_cause.service == "payment"
    assert merge_incidents([final], [polled])[0].version == 3


def test_all_named_needs_every_expected_cause_as_a_root_cause() -> None:
    """Early stop waits for each expected cause to be some fresh incident's root cause."""
    payment = incident("INC-p", ("payment", "/payment"), opened=20)
    assert all_named([PAYMENT], [payment], since=FAULT)
    assert not all_named([PAYMENT, INVENTORY], [payment], since=FAULT)
    assert not all_named([PAYMENT], [payment], since=at(21))
    assert not all_named([], [payment], since=FAULT)


def test_baselines_are_ready_once_the_shops_endpoints_are_established() -> None:
    """`established` decides, as the analyzer judged it; an established edge is no endpoint."""

    def baseline(key: SeriesKey, *, established: bool, windows: int) -> BaselineRecord:
        learned = Baseline(key=key, level_ms=9.0, spread_ms=1.0, rate_per_s=10.0,
                           error_rate=0.0, samples=400, windows=windows,
                           updated_at=START)  # fmt: skip
        return BaselineRecord.of(learned, established=established)

    baselines = [
        baseline(SeriesKey.endpoint("checkout", "/checkout"), established=True, windows=3),
        baseline(SeriesKey.endpoint("payment", "/payment"), established=False, windows=40),
        baseline(
            SeriesKey.endpoint("inventory", "/inventory/reserve"), established=True, windows=12
        ),
        baseline(SeriesKey.edge("payment", "inventory"), established=True, windows=40),
    ]
    assert missing_baselines(baselines) == ["payment /payment"]
    assert missing_baselines([]) == [
        "checkout /checkout",
        "payment /payment",
        "inventory /inventory/reserve",
    ]


def test_a_run_passes_when_detected_and_blamed_right_or_silent_for_a_control() -> None:
    """Fault scenarios need detection and top-1; the control needs no incident."""
    base = ScenarioResult(
        name="x", description="", fault="payment /payment: delay 3000 ms",
        expected_root_cause=[PAYMENT], started_at=START, fault_at=FAULT, fault_until=at(40),
        detected=True, detected_at=at(25), time_to_detect_s=10.0, rca_top1_correct=True,
        rca_top3_correct=True, false_positives=0, false_negatives=0,
    )  # fmt: skip
    assert passed(base)
    assert not passed(replace(base, rca_top1_correct=False))
    assert not passed(replace(base, detected=False))
    control = replace(base, expected_root_cause=[], detected=False, rca_top1_correct=None)
    assert passed(control)
    assert not passed(replace(control, detected=True, false_positives=1))


def test_an_incident_reads_with_its_cause_confidence_candidates_and_anomalies() -> None:
    """The log shows why the analyzer blamed what it blamed."""
    text = describe_incident(
        incident("INC-1", ("payment", "/payment"), opened=20,
                 candidates=[("payment", "/payment"), ("checkout", "/checkout")])
    )  # fmt: skip
    assert "INC-1 [open, high] root cause payment /payment (confidence 80%)" in text
    assert "why: payment /payment failed first in 4/5 traces" in text
    assert "candidate 2: checkout /checkout 50%" in text
    assert "anomaly: payment p50 2900 ms, baseline 9 ms" in text
