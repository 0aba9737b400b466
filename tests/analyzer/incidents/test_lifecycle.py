"""The incident rules as pure functions: dedup, severity, lifecycle, events."""

from __future__ import annotations

import pytest

from aiops_engine.detection import AnomalyType, SeriesKey
from aiops_engine.incidents import EventKind, Incident, IncidentPolicy, Severity, Status
from aiops_engine.incidents.lifecycle import (
    TransitionError,
    absorb,
    acknowledge,
    auto_resolve,
    changes,
    match,
    new_incident_id,
    open_incident,
    resolve,
)
from aiops_engine.rca import Suspect

from .findings import (
    CHECKOUT,
    PAYMENT,
    T0,
    anomaly,
    finding,
    inventory_errors,
    later,
    payment_errors,
    shop_graph,
)

POLICY = IncidentPolicy(correlation_window_s=300, resolve_after_s=120)
GRAPH = shop_graph()


def opened(f=None, at: float = 0.0) -> Incident:  # type: ignore[no-untyped-def]
    return open_incident(
        f or payment_errors(at), incident_id=new_incident_id(later(at), "abcd"), now=later(at),
        policy=POLICY,
    )  # fmt: skip


def test_an_incident_names_its_root_cause_affected_services_and_evidence() -> None:
    incident = opened()
    assert incident.id == "INC-20261127-100000-abcd"
    assert incident.status is Status.OPEN
    assert (incident.root_cause.service, incident.root_cause.endpoint) == ("payment", "/payment")
    assert incident.affected_services == ["checkout", "payment"]
    assert incident.affected_endpoints == [
        "checkout /checkout", "checkout → payment", "payment /payment",
    ]  # fmt: skip
    assert incident.confidence == 1.0
    assert [c.service for c in incident.candidates] == ["payment"]
    assert all(a.explanation for a in incident.anomalies)
    assert incident.title == "payment /payment failing; affects checkout"


def test_all_requests_failing_is_critical_and_a_few_is_high() -> None:
    assert opened(payment_errors(observed=1.0)).severity is Severity.CRITICAL
    assert opened(payment_errors(observed=0.3)).severity is Severity.HIGH


def test_latency_severity_grows_with_the_slowdown() -> None:
    key = SeriesKey.endpoint("payment", "/payment")
    slow = finding(PAYMENT, anomaly(key, AnomalyType.LATENCY, observed=90, baseline=30))
    very_slow = finding(PAYMENT, anomaly(key, AnomalyType.LATENCY, observed=2000, baseline=30))
    assert opened(slow).severity is Severity.MEDIUM
    assert opened(very_slow).severity is Severity.HIGH


def test_a_silent_service_is_critical() -> None:
    silent = finding(
        PAYMENT,
        anomaly(SeriesKey.endpoint("payment", "/payment"), AnomalyType.SILENCE, observed=0),
    )
    assert opened(silent).severity is Severity.CRITICAL


def test_the_same_root_cause_while_open_updates_rather_than_duplicates() -> None:
    incident = opened()
    assert match([incident], payment_errors(at=30), policy=POLICY, graph=GRAPH) == (incident)


def test_an_independent_fault_does_not_match_an_open_incident() -> None:
    incident = opened()
    assert match([incident], inventory_errors(at=30), policy=POLICY, graph=GRAPH) is (None)


def test_a_finding_that_only_saw_the_symptom_joins_the_cause() -> None:
    """Checkout blamed by the graph alone (no trace), while payment (which it calls) is open."""
    incident = opened()
    key = SeriesKey.endpoint("checkout", "/checkout")
    symptom = finding(CHECKOUT, anomaly(key, at=20, traces=()), traces=())
    assert match([incident], symptom, policy=POLICY, graph=GRAPH) == incident


def test_a_finding_with_its_own_traces_is_not_folded_into_a_downstream_incident() -> None:
    """Inventory failing in its own traces is its own problem, whatever postgres was doing."""
    key = SeriesKey.edge("inventory", "postgres")
    postgres = opened(finding(Suspect("postgres"), anomaly(key, AnomalyType.SILENCE, observed=0)))
    assert "inventory" in postgres.affected_services
    assert match([postgres], inventory_errors(at=10), policy=POLICY, graph=GRAPH) is None


def test_silence_below_an_affected_service_joins_that_incident() -> None:
    """Payment fails, so checkout never reaches inventory: inventory's silence is a symptom."""
    incident = opened()
    quiet = finding(
        Suspect("inventory"),
        anomaly(SeriesKey.edge("inventory", "postgres"), AnomalyType.SILENCE, at=15, observed=0),
        traces=(),
    )
    assert match([incident], quiet, policy=POLICY, graph=GRAPH) == incident


def test_a_cause_that_returns_after_the_correlation_window_is_a_new_incident() -> None:
    incident = opened()
    assert match([incident], payment_errors(at=400), policy=POLICY, graph=GRAPH) is (None)


def test_absorbing_a_finding_grows_the_evidence_and_escalates_severity() -> None:
    incident = opened(payment_errors(observed=0.3))
    worse = finding(
        PAYMENT,
        anomaly(SeriesKey.endpoint("payment", "/payment"), at=10, observed=1.0),
        anomaly(SeriesKey.endpoint("shop", "/basket"), at=10, observed=1.0),
        traces=("t9",),
    )
    updated = absorb(incident, worse, now=later(10), policy=POLICY)
    assert updated.severity is Severity.CRITICAL
    assert "shop" in updated.affected_services
    assert updated.sample_trace_ids[0] == "t9"
    assert updated.last_anomaly_at == later(10)
    assert updated.version == incident.version + 1
    # One entry per series and type: the newer payment anomaly replaced the older one.
    keys = [(a.key, a.type) for a in updated.anomalies]
    assert len(keys) == len(set(keys))
    kinds = {e.kind for e in changes(incident, updated, now=later(10))}
    assert kinds == {EventKind.SEVERITY_CHANGED, EventKind.UPDATED}


def test_lifecycle_open_acknowledged_resolved() -> None:
    incident = opened()
    acked = acknowledge(incident, now=later(5))
    assert acked.status is Status.ACKNOWLEDGED
    assert acked.acknowledged_at == later(5)
    assert acknowledge(acked, now=later(6)) == acked  # twice changes nothing
    done = resolve(acked, now=later(7), by="user")
    assert (done.status, done.resolved_by) == (Status.RESOLVED, "user")
    with pytest.raises(TransitionError):
        acknowledge(done, now=later(8))
    with pytest.raises(TransitionError):
        resolve(done, now=later(8), by="user")
    assert [e.kind for e in changes(incident, acked, now=later(5))] == [EventKind.ACKNOWLEDGED]
    assert [e.kind for e in changes(acked, done, now=later(7))] == [EventKind.RESOLVED]


def test_an_incident_resolves_itself_after_its_anomalies_stay_clear() -> None:
    incident = opened()
    assert auto_resolve(incident, now=later(119), policy=POLICY) == incident
    done = auto_resolve(incident, now=later(120), policy=POLICY)
    assert (done.status, done.resolved_by) == (Status.RESOLVED, "auto")


def test_a_resolved_incident_whose_cause_returns_shortly_is_reopened_not_duplicated() -> None:
    done = auto_resolve(opened(), now=later(120), policy=POLICY)
    again = payment_errors(at=200)
    assert match([done], again, policy=POLICY, graph=GRAPH) == done
    reopened = absorb(done, again, now=later(200), policy=POLICY)
    assert (reopened.status, reopened.reopen_count, reopened.resolved_at) == (Status.OPEN, 1, None)
    assert [e.kind for e in changes(done, reopened, now=later(200))] == [EventKind.REOPENED]


def test_a_reopened_incident_describes_its_new_episode_only() -> None:
    """The old episode's evidence and severity stay in the history, not in the incident."""
    done = auto_resolve(opened(payment_errors(observed=1.0)), now=later(120), policy=POLICY)
    key = SeriesKey.endpoint("payment", "/payment")
    slow = finding(PAYMENT, anomaly(key, AnomalyType.LATENCY, at=200, observed=90, baseline=30))
    reopened = absorb(done, slow, now=later(200), policy=POLICY)
    assert {a.window_end for a in reopened.anomalies} == {later(200)}
    assert reopened.affected_services == ["payment"]
    assert reopened.severity is Severity.MEDIUM


def test_an_open_incident_is_preferred_over_a_newer_resolved_one_with_the_same_cause() -> None:
    current = opened(payment_errors(at=130), at=130)
    newer_but_resolved = resolve(opened(payment_errors(at=100), at=100), now=later(135), by="user")
    assert newer_but_resolved.updated_at > current.updated_at
    again = payment_errors(at=140)
    assert match([newer_but_resolved, current], again, policy=POLICY, graph=GRAPH) == current


def test_findings_are_matched_at_their_own_time_not_when_processed() -> None:
    """A finding that waited out a Redis outage still joins the incident it belongs to."""
    incident = opened()
    late = payment_errors(at=30)  # processed much later: match() is not told when
    assert match([incident], late, policy=POLICY, graph=GRAPH) == incident


def test_a_more_precise_root_cause_replaces_a_whole_service() -> None:
    service_only = finding(Suspect("payment"), anomaly(SeriesKey.endpoint("payment", "/payment")))
    incident = opened(service_only)
    assert incident.root_cause.endpoint is None
    updated = absorb(incident, payment_errors(at=10), now=later(10), policy=POLICY)
    assert updated.root_cause.endpoint == "/payment"
    assert EventKind.ROOT_CAUSE_CHANGED in {e.kind for e in changes(incident, updated, now=T0)}


def test_the_first_event_of_an_incident_is_opened() -> None:
    [event] = changes(None, opened(), now=T0)
    assert event.kind is EventKind.OPENED
    assert "critical" in event.detail


def test_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="resolve_after_s"):
        IncidentPolicy(resolve_after_s=0)
    with pytest.raises(ValueError, match="correlation_window_s"):
        IncidentPolicy(resolve_after_s=600, correlation_window_s=300)
