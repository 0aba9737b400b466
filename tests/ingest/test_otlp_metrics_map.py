"""OTLP metrics as metric_points rows, without a database: what each instrument becomes, the
series names, every refusal counted under its reason, both encodings alike, and any JSON
object read or refused, never a crash."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aiops_telemetry.metric_rows import (
    MAX_SERIES_BYTES,
    METRIC_COLUMNS,
    MetricRow,
    series_name,
    with_kind,
)
from aiops_telemetry.otlp import OtlpDecodeError
from aiops_telemetry.otlp_metrics import (
    REASONS,
    OtlpMetrics,
    decode_metrics_json,
    decode_metrics_proto,
    rows_from_metrics_request,
)

from . import metric_requests as m

AT = 1_767_225_600 * m.SECOND  # 2026-01-01T00:00:00Z
AT_TIME = datetime(2026, 1, 1, tzinfo=UTC)


def mapped(metrics_by_service: dict[str | None, list[Any]]) -> OtlpMetrics:
    return rows_from_metrics_request(m.request(metrics_by_service))


def columns(row: MetricRow) -> dict[str, Any]:
    return dict(zip(METRIC_COLUMNS, row, strict=True))


def values_of(result: OtlpMetrics) -> dict[str, tuple[str, float]]:
    return {r["series"]: (r["kind"], r["value"]) for r in map(columns, result.rows)}


def test_a_gauge_is_its_value_named_by_service_metric_and_sorted_attributes() -> None:
    point = m.number(42.5, at=AT, attributes={"queue": "orders", "az": "b"})
    result = mapped({"checkout": [m.gauge("queue.depth", point, unit="{item}")]})
    assert (result.accepted, result.rejected, result.errors) == (1, 0, [])
    [row] = map(columns, result.rows)
    assert row == {
        "time": AT_TIME,
        "series": "checkout:queue.depth{az=b,queue=orders}",
        "service": "checkout",
        "name": "queue.depth",
        "kind": "gauge",
        "value": 42.5,
        "unit": "{item}",
        "attributes": '{"queue":"orders","az":"b"}',
        "start_time": None,
        "sum": None,
        "bounds": None,
        "bucket_counts": None,
    }


def test_without_a_service_name_the_series_is_unknown_services() -> None:
    result = mapped({None: [m.gauge("up", m.number(1, at=AT))]})
    assert values_of(result) == {"unknown_service:up": ("gauge", 1.0)}


def test_sums_become_rates_running_totals_or_levels() -> None:
    start = AT - 30 * m.SECOND
    result = mapped(
        {
            "shop": [
                m.total("orders", m.number(60, at=AT, start=start), temporality=m.DELTA),
                m.total("requests", m.number(1234, at=AT, start=start)),
                m.total("in_flight", m.number(-3, at=AT, start=start), monotonic=False),
            ]
        }
    )
    assert values_of(result) == {
        "shop:orders.rate": ("rate", 2.0),  # 60 in 30 s
        "shop:requests": ("cumulative", 1234.0),  # a rate once read with its predecessor
        "shop:in_flight": ("gauge", -3.0),
    }
    running = next(r for r in map(columns, result.rows) if r["kind"] == "cumulative")
    assert running["start_time"] == datetime.fromtimestamp(start / m.SECOND, UTC)


def test_a_delta_histogram_is_its_count_mean_and_quantiles_from_its_buckets() -> None:
    point = m.buckets(
        [10, 20, 50], [0, 4, 4, 2], at=AT, total=300, low=12, high=80, attributes={"r": "/x"}
    )
    result = mapped({"api": [m.histogram("latency", point)]})
    assert values_of(result) == {
        "api:latency.count{r=/x}": ("count", 10.0),
        "api:latency.mean{r=/x}": ("mean", 30.0),
        "api:latency.p50{r=/x}": ("p50", 27.5),  # rank 5: a quarter into (20, 50]
        "api:latency.p95{r=/x}": ("p95", 72.5),  # rank 9.5: three quarters into (50, max 80]
    }
    assert result.accepted == 1  # one data point, four rows


def test_a_cumulative_histogram_is_stored_as_its_running_state() -> None:
    point = m.buckets([10, 20], [1, 2, 3], at=AT, start=AT - m.SECOND, total=99.0)
    result = mapped({"api": [m.histogram("latency", point, temporality=m.CUMULATIVE)]})
    [row] = map(columns, result.rows)
    assert (row["series"], row["kind"], row["value"]) == ("api:latency", "histogram", 6.0)
    assert (row["sum"], row["bounds"], row["bucket_counts"]) == (99.0, [10, 20], [1, 2, 3])


def test_an_empty_delta_histogram_is_a_count_of_zero() -> None:
    result = mapped({"api": [m.histogram("latency", m.buckets([10], [0, 0], at=AT))]})
    assert values_of(result) == {"api:latency.count": ("count", 0.0)}


@pytest.mark.parametrize(
    ("metric", "reason"),
    [
        (m.gauge("g", m.number(math.nan, at=AT)), "non_finite"),
        (m.gauge("g", m.number(-math.inf, at=AT)), "non_finite"),
        (m.histogram("h", m.buckets([1], [1, 0], at=AT, total=math.inf)), "non_finite"),
        (m.gauge("", m.number(1, at=AT)), "missing_name"),
        (m.gauge("g", m.number(1, at=0)), "bad_time"),
        (m.total("c", m.number(5, at=AT, start=AT), temporality=m.DELTA), "no_interval"),
        (m.total("c", m.number(5, at=AT), temporality=0), "no_temporality"),
        (m.histogram("h", m.buckets([2, 1], [1, 1, 1], at=AT)), "bad_histogram"),
        (m.histogram("h", m.buckets([1], [1], at=AT)), "bad_histogram"),
    ],
    ids=[
        "nan", "infinity", "nan-sum", "no-name", "no-time", "no-interval", "no-temporality",
        "bounds-decreasing", "bucket-count",
    ],
)  # fmt: skip
def test_a_point_that_cannot_be_stored_is_counted_under_its_reason_and_the_rest_kept(
    metric: Any, reason: str
) -> None:
    result = mapped({"svc": [metric, m.gauge("fine", m.number(1.0, at=AT))]})
    assert values_of(result) == {"svc:fine": ("gauge", 1.0)}
    assert (result.accepted, result.rejected, dict(result.reasons)) == (1, 1, {reason: 1})
    assert result.errors == [REASONS[reason]]


def test_unsupported_types_and_points_without_a_value_are_counted_too() -> None:
    request = m.request({"svc": [m.gauge("g", m.number(1, at=AT), m.number(2, at=AT))]})
    metrics = request.resource_metrics[0].scope_metrics[0].metrics
    metrics.add(name="e").exponential_histogram.data_points.add(time_unix_nano=AT)
    metrics.add(name="s").summary.data_points.add(time_unix_nano=AT)
    metrics[0].gauge.data_points[0].flags = 1  # no recorded value
    metrics[0].gauge.data_points[1].ClearField("as_int")
    metrics.add(name="nothing")
    result = rows_from_metrics_request(request)
    assert result.rows == []
    assert dict(result.reasons) == {"unsupported_type": 2, "no_value": 2}
    assert result.rejected == 4
    assert "a metric without data (no gauge, sum or histogram)" in result.errors


def test_json_gives_the_rows_protobuf_gives() -> None:
    request = m.request(
        {
            "svc": [
                m.gauge("g", m.number(1.5, at=AT, attributes={"k": "v", "n": 3})),
                m.total("c", m.number(7, at=AT, start=AT - m.SECOND)),
                m.histogram("h", m.buckets([1, 2], [1, 1, 1], at=AT, total=4.0)),
            ]
        }
    )
    from_proto = rows_from_metrics_request(decode_metrics_proto(request.SerializeToString()))
    from_json = rows_from_metrics_request(decode_metrics_json(m.as_json(request)))
    assert from_json == from_proto
    assert len(from_proto.rows) == 6


def test_json_reads_snake_case_enum_names_and_non_finite_spelled_as_strings() -> None:
    document = {
        "resource_metrics": [
            {
                "scope_metrics": [
                    {
                        "metrics": [
                            {
                                "name": "c",
                                "sum": {
                                    "aggregationTemporality": "AGGREGATION_TEMPORALITY_DELTA",
                                    "isMonotonic": True,
                                    "dataPoints": [
                                        {"asInt": "10", "timeUnixNano": str(AT),
                                         "startTimeUnixNano": AT - 5 * m.SECOND},
                                        {"asDouble": "NaN", "timeUnixNano": str(AT)},
                                    ],
                                },
                            }
                        ]
                    }
                ]
            }
        ]
    }  # fmt: skip
    result = rows_from_metrics_request(decode_metrics_json(document))
    assert values_of(result) == {"unknown_service:c.rate": ("rate", 2.0)}
    assert dict(result.reasons) == {"non_finite": 1}


@pytest.mark.parametrize(
    "document",
    [{"resourceMetrics": "no"}, {"resourceMetrics": [{"scopeMetrics": [{"metrics": [1]}]}]}],
)
def test_json_that_is_no_request_is_a_decode_error(document: dict[str, Any]) -> None:
    with pytest.raises(OtlpDecodeError, match="ExportMetricsServiceRequest"):
        decode_metrics_json(document)


def test_protobuf_that_is_no_request_is_a_decode_error() -> None:
    with pytest.raises(OtlpDecodeError, match="ExportMetricsServiceRequest"):
        decode_metrics_proto(b"\xff\xff\xff")


def test_series_names_escape_what_would_be_ambiguous_and_add_kinds_before_attributes() -> None:
    name = series_name("a{b", "m", {"k,1": "x=y}", "b": True, "n": [1, 2]})
    assert name == "a\\{b:m{b=true,k\\,1=x\\=y\\},n=[1\\,2]}"
    assert with_kind(name, "p95") == "a\\{b:m.p95{b=true,k\\,1=x\\=y\\},n=[1\\,2]}"
    assert with_kind("svc:m", "rate") == "svc:m.rate"
    assert with_kind("svc:m{a=1}", "gauge") == "svc:m{a=1}"


def test_a_series_name_too_long_to_index_is_hashed_stably() -> None:
    attributes = {"blob": "é" * 5_000}
    name = series_name("svc", "m", attributes, "p50")
    assert len(name.encode()) < MAX_SERIES_BYTES
    assert name.startswith("svc:m.p50{…#")
    assert name == series_name("svc", "m", dict(attributes), "p50")
    assert name != series_name("svc", "m", {"blob": "é" * 5_001}, "p50")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=20,
)
FIELDS = ["resourceMetrics", "scopeMetrics", "metrics", "name", "gauge", "sum", "histogram",
          "dataPoints", "asDouble", "asInt", "timeUnixNano", "bucketCounts", "explicitBounds",
          "aggregationTemporality", "isMonotonic", "attributes", "count"]  # fmt: skip
shaped = st.recursive(
    json_values,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(FIELDS), inner, max_size=4)
    ),
    max_leaves=30,
)


@given(st.dictionaries(st.sampled_from(FIELDS), shaped, max_size=3))
def test_any_json_object_is_a_request_or_a_decode_error_never_a_crash(
    document: dict[str, Any],
) -> None:
    try:
        request = decode_metrics_json(document)
    except OtlpDecodeError:
        return
    result = rows_from_metrics_request(request)
    assert result.accepted + result.rejected >= 0
