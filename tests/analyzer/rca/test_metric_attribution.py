"""A metric series' anomaly has no trace of its own: it joins the problem the traces of its
cycle point at, at or below its service, not whatever anomalous service lies lowest."""

from __future__ import annotations

from aiops_engine.detection import AnomalyType, KeyKind, SeriesKey
from aiops_engine.rca import DATABASE, Suspect, analyse

from .spans import CHECKOUT, CHECKOUT_TO_INVENTORY, INVENTORY, SHOP, SLOW_MS, anomaly, shop_trace

CONVERSION = SeriesKey(KeyKind.METRIC, "checkout", "checkout:conversion")
ERRORS = AnomalyType.ERROR_SPIKE


def test_a_conversion_drop_joins_the_failure_most_traces_point_at() -> None:
    """Inventory fails seven checkouts; in an eighth its stock query timed out, so one trace
    votes for the database below it. The conversion drop on checkout is the failing
    checkouts' symptom: in inventory's finding, not one of its own blaming the database."""
    ids = [f"t{i}" for i in range(8)]
    traces = {t: shop_trace(t, inventory_status=500) for t in ids[:7]}
    traces["t7"] = shop_trace("t7", query_error="timeout")
    drop = anomaly(CONVERSION, AnomalyType.METRIC, score=1.0)
    anomalies = [
        anomaly(CHECKOUT, ERRORS, traces=ids),
        anomaly(CHECKOUT_TO_INVENTORY, ERRORS, traces=ids),
        anomaly(INVENTORY, ERRORS, traces=ids),
        drop,
    ]
    findings = analyse(anomalies, traces, SHOP, SLOW_MS)
    [finding] = [f for f in findings if drop in f.anomalies]
    assert finding.root_cause == Suspect("inventory", "/inventory/reserve")
    assert {a.key for a in finding.anomalies} >= {INVENTORY, CONVERSION}
    assert all(f.root_cause.service != DATABASE for f in findings)


def test_a_metric_anomaly_with_no_traced_problem_below_it_goes_to_its_service() -> None:
    """Alone, a series' anomaly is its own service's: nothing traced or anomalous below."""
    drop = anomaly(CONVERSION, AnomalyType.METRIC, score=1.0)
    [finding] = analyse([drop], {}, SHOP, SLOW_MS)
    assert finding.root_cause.service == "checkout"
