"""The provisioned Grafana dashboards, their SQL run on real telemetry without Grafana.

Every panel query, annotation and variable query is expanded as Grafana would
expand it (tests/grafana/macros.py) and run on the test PostgreSQL, holding
telemetry and analyzer rows written for a stretch of time no other test uses.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from aiops_telemetry import CLIENT, COLUMNS, SERVER, SpanRow, apply_migrations
from analyzer.roles import READER_ROLE, enable_reader_login
from analyzer.store.rollups import roll_up_range
from tests.support.telemetry_rows import schema_connection, span

from .macros import TimeRange, Variable, expand

ROOT = Path(__file__).resolve().parents[2]
GRAFANA = ROOT / "grafana"
DASHBOARDS = {path.stem: json.loads(path.read_text()) for path in GRAFANA.glob("dashboards/*.json")}
DATASOURCE_UID = "aiops-postgres"
UIDS = {
    "service-overview": "aiops-service-overview",
    "baselines": "aiops-baselines",
    "incidents": "aiops-incidents",
    "trace-lookup": "aiops-trace-lookup",
    "metric-series": "aiops-metric-series",
}


def queries(board: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(name, target) of every panel target and annotation query on our data source."""
    for panel in board["panels"]:
        for target in panel["targets"]:
            yield f"{panel['title']} [{target['refId']}]", target
    for annotation in board["annotations"]["list"]:
        if annotation["datasource"].get("uid") == DATASOURCE_UID:
            yield f"annotation {annotation['name']}", annotation["target"]


CASES = [
    pytest.param(stem, target, id=f"{stem}: {name}")
    for stem, board in sorted(DASHBOARDS.items())
    for name, target in queries(board)
]


@pytest.mark.parametrize("stem", sorted(UIDS))
def test_each_dashboard_keeps_its_uid_and_queries_the_provisioned_source_in_sql(stem: str) -> None:
    """A fixed uid keeps links alive; panels, annotations and variables name the source by uid."""
    assert set(DASHBOARDS) == set(UIDS), "a dashboard file was added or renamed"
    board = DASHBOARDS[stem]
    assert board["uid"] == UIDS[stem]
    assert board["title"].startswith("AIOps / ")
    panels = board["panels"]
    assert len({panel["id"] for panel in panels}) == len(panels)
    for panel in panels:
        assert panel["datasource"]["uid"] == DATASOURCE_UID, panel["title"]
        assert panel["targets"], panel["title"]
    for name, target in queries(board):
        assert target["datasource"]["uid"] == DATASOURCE_UID, name
        assert target["rawSql"].strip(), name
        assert target["rawQuery"] is True, name
        assert target["format"] in {"time_series", "table"}, name
    for variable in board["templating"]["list"]:
        if variable["type"] == "query":
            assert variable["datasource"]["uid"] == DATASOURCE_UID, variable["name"]


def test_provisioning_points_grafana_at_the_database_and_the_mounted_dashboards() -> None:
    """The data source and dashboard provider files parse, and agree with docker-compose.yml."""
    yaml = pytest.importorskip("yaml")  # PyYAML comes with uvicorn[standard]; not a dependency

    def load(path: Path) -> Any:
        return yaml.safe_load(path.read_text())

    [source] = load(GRAFANA / "provisioning/datasources/postgres.yaml")["datasources"]
    assert source["uid"] == DATASOURCE_UID
    # The read-only role: any Grafana viewer can send SQL of their own to a data source.
    assert (source["type"], source["url"], source["user"]) == (
        "postgres",
        "postgres:5432",
        "aiops_reader",
    )
    assert source["jsonData"]["database"] == "aiops"
    assert source["jsonData"]["sslmode"] == "disable"
    assert source["isDefault"] is True
    # The same generated secret the analyzer reads (AIOPS_READER_PASSWORD_FILE).
    reader_secret = load(ROOT / "docker-compose.yml")["services"]["analyzer"]["environment"][
        "AIOPS_READER_PASSWORD_FILE"
    ]
    assert source["secureJsonData"]["password"] == f"$__file{{{reader_secret}}}"
    [provider] = load(GRAFANA / "provisioning/dashboards/dashboards.yaml")["providers"]
    assert (provider["folder"], provider["type"]) == ("AIOps", "file")
    grafana = load(ROOT / "docker-compose.yml")["services"]["grafana"]
    assert "./grafana/provisioning:/etc/grafana/provisioning:ro" in grafana["volumes"]
    assert f"./grafana/dashboards:{provider['options']['path']}:ro" in grafana["volumes"]
    assert reader_secret.startswith(grafana["volumes"][-1].split(":")[1] + "/")
    assert not any("POSTGRES_PASSWORD" in name for name in grafana["environment"])


def test_macros_and_variables_expand_as_grafana_expands_them() -> None:
    """Backend macros in UTC RFC 3339; single values escaped, multi values quoted and joined."""
    window = TimeRange(
        datetime(2000, 1, 1, tzinfo=UTC), datetime(2000, 1, 1, 0, 5, 0, 500_000, tzinfo=UTC)
    )
    sql = """SELECT $__timeGroupAlias("timestamp", $__interval) FROM telemetry
WHERE $__timeFilter("timestamp") AND service_name IN ($service) AND endpoint = '${endpoint}'"""
    variables = {"service": Variable(("a", "o'b"), multi=True), "endpoint": Variable("/it's")}
    assert expand(sql, window, variables) == (
        """SELECT floor(extract(epoch from "timestamp")/10)*10 AS "time" FROM telemetry
WHERE "timestamp" BETWEEN '2000-01-01T00:00:00Z' AND '2000-01-01T00:05:00.5Z'"""
        """ AND service_name IN ('a','o''b') AND endpoint = '/it''s'"""
    )
    assert (
        expand("$__timeGroup(at, 1m), 1", window, {})
        == 'floor(extract(epoch from at)/60)*60 AS "time", 1'
    )
    for typo in ("SELECT $servce", "SELECT 1 WHERE $__timeFilterr(at)"):
        with pytest.raises(KeyError, match="unknown variable or macro"):
            expand(typo, window, {})


@dataclass(frozen=True)
class Scene:
    """What was written: the time range covering it, and the variable values to pick."""

    time_range: TimeRange
    choices: dict[str, str]
    trace_spans: list[str]  # span ids of choices["trace_id"], in start order


def services(tag: str) -> tuple[str, str, str]:
    """The scene's checkout, payment and inventory: names no other test uses."""
    return f"checkout-{tag}", f"payment-{tag}", f"inventory-{tag}"


def checkout_trace(origin: datetime, second: int, tag: str) -> list[SpanRow]:
    """One checkout: checkout calls payment (which queries postgres), then inventory."""
    trace, slow, fails = uuid.uuid4().hex, 60 <= second < 70, second % 10 == 3
    status, factor = 500 if fails else 200, 13 if slow else 1  # 60-70 s: the slow window
    checkout, payment, inventory = services(tag)
    after = 3 + 15 * factor  # when checkout has its answer from payment
    # (ms after the root starts, service, kind, endpoint, parent's index, latency, status, peer)
    shape: list[tuple[int, str, str, str, int | None, float, int | None, str | None]] = [
        (0, checkout, SERVER, "/checkout", None, 45 + 16 * factor, 502 if fails else 200, None),
        (1, checkout, CLIENT, "/payment", 0, 1 + 15 * factor, status, payment),
        (2, payment, SERVER, "/payment", 1, 15 * factor, status, None),
        (3, payment, CLIENT, "INSERT payments", 2, 4, None, "postgres"),
        (after, checkout, CLIENT, "/reserve", 0, 9, 200, inventory),
        (after + 1, inventory, SERVER, "/reserve", 4, 8, 200, None),
    ]
    ids = [uuid.uuid4().hex[:16] for _ in shape]
    return [
        span(
            service, at=origin + timedelta(seconds=second, milliseconds=offset), kind=kind,
            endpoint=endpoint, method="SQL" if peer == "postgres" else "POST", status=code,
            latency_ms=latency, peer=peer, trace_id=trace, span_id=span_id,
            parent=None if parent is None else ids[parent],
            error_kind="exception" if code == 500 and kind == CLIENT else None,
            error_message="HTTPException: payment declined" if code and code >= 500 else None,
        )
        for span_id, (offset, service, kind, endpoint, parent, latency, code, peer) in zip(
            ids, shape, strict=True
        )
    ]  # fmt: skip


@pytest.fixture(scope="module")
async def scene(database_url: str) -> AsyncIterator[Scene]:
    """90 s of checkouts (every 10th payment fails, 60-70 s are slow), a baseline,
    a latency anomaly, an incident opened and resolved and two judged metric series;
    all in year 2000."""
    tag = uuid.uuid4().hex[:8]
    origin = datetime(2000, 1, 1, tzinfo=UTC) + timedelta(minutes=uuid.uuid4().int % 500_000)
    traces = [checkout_trace(origin, second, tag) for second in range(90)]
    payment, slow_trace = services(tag)[1], traces[65]
    async with schema_connection(database_url, analyzer=True) as conn:
        rows = [row for trace in traces for row in trace]
        await conn.copy_records_to_table("telemetry", records=rows, columns=COLUMNS)
        await roll_up_range(conn, origin, origin + timedelta(minutes=2))
        await write_analyzer_rows(conn, tag, origin, slow_trace[0][7])
        series = await write_metric_judgements(conn, tag, origin)
        yield Scene(
            time_range=TimeRange(origin - timedelta(seconds=30), origin + timedelta(seconds=120)),
            choices={
                "service": payment,
                "endpoint": "/payment",
                "trace_id": slow_trace[0][7],
                "series": series,
            },
            trace_spans=[row[8] for row in sorted(slow_trace, key=lambda row: (row[0], row[8]))],
        )


async def write_analyzer_rows(
    conn: asyncpg.Connection, tag: str, origin: datetime, trace: str
) -> None:
    """What the analyzer would have written about the scene, with plain SQL."""

    def at(seconds: float) -> datetime:
        return origin + timedelta(seconds=seconds)

    checkout, payment, inventory = (
        f"{name}-{tag}" for name in ("checkout", "payment", "inventory")
    )
    await conn.executemany(
        """INSERT INTO analyzer_baselines (kind, service, target, level_ms, spread_ms,
               rate_per_s, error_rate, samples, windows, updated_at, threshold_ms)
           VALUES ($1, $2, $3, $4, $4::float8 / 10, 1, 0.1, 600, 60, $5, $4::float8 * 3)""",
        [
            ("endpoint", checkout, "/checkout", 61.0, at(60)),
            ("endpoint", payment, "/payment", 15.0, at(60)),
            ("endpoint", inventory, "/reserve", 8.0, at(60)),
            ("edge", checkout, payment, 16.0, at(60)),
        ],
    )
    await conn.execute(
        """INSERT INTO analyzer_anomalies (detected_at, type, kind, service, target, observed,
               baseline, threshold, window_start, window_end, sample_count, score,
               sample_trace_ids, explanation)
           VALUES ($1, 'latency', 'endpoint', $2, '/payment', 195, 15, 45, $3, $4, 10, 0.9,
               ARRAY[$5], 'payment /payment p50 195 ms, 13x its 15 ms baseline')""",
        *(at(73), payment, at(60), at(70), trace),
    )
    incident = f"INC-{tag}"
    await conn.executemany(
        """INSERT INTO analyzer_incident_history (incident_id, at, event, status, severity,
               root_service, root_endpoint, confidence, title, detail, incident)
           VALUES ($1, $2, $3, $4, $5, $6, '/payment', 0.9, $6 || ' /payment slow', $3,
               jsonb_build_object('id', $1::text, 'status', $4::text))""",
        [
            (incident, at(73), "opened", "open", "high", payment),
            (incident, at(80), "severity_changed", "open", "critical", payment),
            (incident, at(95), "resolved", "resolved", "critical", payment),
        ],
    )


# The scene's watched series: judged each second, learning for the first 10 s,
# anomalous 60-70 s (the slow window), a new normal adopted at 80 s (held since 75 s).
METRIC_LEARNING_S, METRIC_ANOMALOUS_S, METRIC_NEW_NORMAL_S = 10, range(60, 70), 80


async def write_metric_judgements(conn: asyncpg.Connection, tag: str, origin: datetime) -> str:
    """Judgements of two series as the analyzer writes them; the name of the one to chart,
    a name with the braces, dots, `=` and `/` that metric series names carry."""
    chosen = f"checkout-{tag}:http.server.request.duration.p95{{http.route=/checkout}}"

    def judgement(series: str, second: int, level: float) -> tuple[object, ...]:
        at = origin + timedelta(seconds=second)
        learning, anomalous = second < METRIC_LEARNING_S, second in METRIC_ANOMALOUS_S
        value = level * (13 if anomalous else 1) * (1 + (second % 3) / 50)
        expected = (None, None, None) if learning else (level, level * 0.8, level * 1.2)
        since = at - timedelta(seconds=5) if second == METRIC_NEW_NORMAL_S else None
        why = f"{series}: {value:.3g} is {value / level:.1f}x the expected {level:.3g}"
        return (series, at, value, *expected, 0.99 if anomalous else 0.1, anomalous, since, why)

    await conn.executemany(
        """INSERT INTO analyzer_metric_judgements (series, "time", value, expected, lower,
               upper, score, anomalous, new_normal_since, explanation)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)""",
        [
            judgement(series, second, level)
            for series, level in ((chosen, 0.2), (f"checkout-{tag}:conversion", 0.031))
            for second in range(90)
        ],
    )
    return chosen


async def resolve_variables(
    conn: asyncpg.Connection, board: dict[str, Any], scene: Scene
) -> dict[str, Variable]:
    """Each variable's value as a viewer picks it: the scene's choice, or "All" (every option)."""
    resolved: dict[str, Variable] = {}
    for variable in board["templating"]["list"]:
        name = variable["name"]
        if variable["type"] == "textbox":
            resolved[name] = Variable(scene.choices[name])
            continue
        assert variable["type"] == "query", f"{name}: the test knows textbox and query variables"
        rows = await conn.fetch(expand(variable["query"], scene.time_range, resolved))
        options = [row[0] for row in rows]
        assert scene.choices[name] in options, f"variable {name} does not offer the scene's value"
        all_ = variable["multi"] or variable["includeAll"]
        resolved[name] = (
            Variable(tuple(options), multi=True) if all_ else Variable(scene.choices[name])
        )
    return resolved


@pytest.fixture
async def reader(db: asyncpg.Connection, database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection as Grafana's read-only role, as the provisioned data source logs in."""
    await apply_migrations(db, component="analyzer", package="analyzer")
    await enable_reader_login(db, READER_PASSWORD)
    conn: asyncpg.Connection = await asyncpg.connect(
        database_url.replace("aiops:aiops@", f"{READER_ROLE}:{READER_PASSWORD}@")
    )
    try:
        yield conn
    finally:
        await conn.close()


READER_PASSWORD = "grafana-test-reader"


@pytest.mark.parametrize("days", [0, 30], ids=["minutes", "30 days"])
@pytest.mark.parametrize(("stem", "target"), CASES)
async def test_panel_sql_runs_on_our_schema_and_returns_the_scene(
    reader: asyncpg.Connection, scene: Scene, stem: str, target: dict[str, Any], days: int
) -> None:
    """Every query runs, read-only as Grafana's role, on real rows; time series and
    annotations return `time`, ascending. Over 30 days, time series come from the rollups."""
    board = DASHBOARDS[stem]
    if days:
        around = timedelta(days=days / 2)
        scene = dataclasses.replace(
            scene,
            time_range=TimeRange(scene.time_range.start - around, scene.time_range.end + around),
        )
    variables = await resolve_variables(reader, board, scene)
    sql = expand(target["rawSql"], scene.time_range, variables)
    if days and target["format"] == "time_series" and "telemetry\n" in target["rawSql"]:
        # The raw-span branch is planned away (beyond the minutes not rolled up yet).
        plan = "\n".join(row[0] for row in await reader.fetch(f"EXPLAIN {sql}"))
        assert "One-Time Filter: false" in plan, plan
    rows = await reader.fetch(sql)
    assert rows, f"no rows from:\n{sql}"
    if target["format"] == "time_series" or target["refId"] == "Anno":
        times = [as_epoch(row["time"]) for row in rows]
        assert times == sorted(times), "Grafana needs a time series sorted by time"
        start, end = scene.time_range.start.timestamp(), scene.time_range.end.timestamp()
        assert all(start - 10 <= moment <= end for moment in times)  # 10: one $__interval bucket
    if target["format"] == "time_series":
        values = [value for row in rows for key, value in row.items() if key != "time"]
        assert all(isinstance(value, int | float | Decimal | str | None) for value in values)
    if "$trace_id" in target["rawSql"]:
        assert [row["span_id"] for row in rows] == scene.trace_spans


def as_epoch(moment: object) -> float:
    """A time column as Grafana reads it: a timestamp, or epoch seconds ($__timeGroup)."""
    if isinstance(moment, datetime):
        return moment.timestamp()
    assert isinstance(moment, int | float | Decimal), f"not a time: {moment!r}"
    return float(moment)


async def test_a_query_on_a_column_our_schema_lacks_fails(
    db: asyncpg.Connection, scene: Scene
) -> None:
    """The harness is not lenient: SQL that PostgreSQL rejects fails the test that runs it."""
    sql = expand(
        'SELECT service FROM telemetry WHERE $__timeFilter("timestamp")', scene.time_range, {}
    )
    with pytest.raises(asyncpg.UndefinedColumnError):
        await db.fetch(sql)


async def test_the_metric_series_panel_draws_value_expected_band_and_anomalies(
    reader: asyncpg.Connection, scene: Scene
) -> None:
    """Per judgement (a 1 s interval): value, expected and the band's bounds, empty while
    learning; the band is the fill from upper down to lower; a red point per anomalous
    judgement, explained by an annotation; the new normal marked where it was adopted."""
    board = DASHBOARDS["metric-series"]
    [panel] = [p for p in board["panels"] if p["type"] == "timeseries"]
    overrides = {
        o["matcher"]["options"]: {p["id"]: p["value"] for p in o["properties"]}
        for o in panel["fieldConfig"]["overrides"]
    }
    assert overrides["upper"]["custom.fillBelowTo"] == "lower"
    assert overrides["anomaly"]["custom.drawStyle"] == "points"
    variables = await resolve_variables(reader, board, scene)
    assert variables["series"] == Variable(scene.choices["series"])

    async def run(sql: str) -> list[asyncpg.Record]:
        return list(await reader.fetch(expand(sql, scene.time_range, variables, interval="1s")))

    values, anomalies = [await run(target["rawSql"]) for target in panel["targets"]]
    assert [list(row.keys()) for row in values[:1]] == [
        ["time", "value", "expected", "lower", "upper"]
    ]
    assert len(values) == 90
    learning, judged = values[:METRIC_LEARNING_S], values[METRIC_LEARNING_S:]
    assert all(row["expected"] is row["lower"] is row["upper"] is None for row in learning)
    assert all(row["lower"] < row["expected"] < row["upper"] for row in judged)
    assert len(anomalies) == len(METRIC_ANOMALOUS_S)
    assert all(row["anomaly"] > row_upper(values, row["time"]) for row in anomalies)

    notes = {
        a["name"]: a["target"]["rawSql"] for a in board["annotations"]["list"] if "target" in a
    }
    explained = await run(notes["Anomaly explanations"])
    assert [row["time"] for row in explained] == [row["time"] for row in anomalies]
    assert all("x the expected" in row["text"] for row in explained)
    [adopted] = await run(notes["New normal adopted"])
    origin = scene.time_range.start + timedelta(seconds=30)
    assert adopted["time"] == origin + timedelta(seconds=METRIC_NEW_NORMAL_S)
    held = origin + timedelta(seconds=METRIC_NEW_NORMAL_S - 5)
    assert f"held since {held:%Y-%m-%d %H:%M:%S} UTC" in adopted["text"]


def row_upper(values: list[asyncpg.Record], moment: datetime) -> float:
    """The band's upper bound at `moment` in the values query's rows (epoch-second times)."""
    [upper] = [row["upper"] for row in values if as_epoch(row["time"]) == moment.timestamp()]
    assert isinstance(upper, float)
    return upper
