"""The metric series API in-process (`create_app` with its lifespan) on the real PostgreSQL and
Redis: the watched series and their points, names with every character a series holds, and a
new normal asked for, adopted by the next cycle, which resolves the incident it kept open."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import asyncpg
import httpx
import pytest

from aiops_api.analyzer import (
    INCIDENTS,
    METRIC_POINTS,
    METRIC_SERIES,
    AnalyzerHealth,
    Incident,
    NewNormalRequested,
)
from aiops_api.common import ErrorDetail
from aiops_engine.detection import Anomaly, AnomalyType, KeyKind, SeriesKey
from aiops_engine.incidents import IncidentPolicy, Status
from aiops_engine.incidents.lifecycle import new_incident_id, open_incident
from aiops_engine.metrics import Judgement, MetricConfig, MetricState, judge
from aiops_engine.rca import Candidate, Finding, Suspect
from analyzer.app import create_app
from analyzer.settings import AnalyzerSettings
from analyzer.store import metric_judgements, metric_states
from tests.support.asgi import lifespan_client
from tests.support.containers import ContainerRedis
from tests.support.polling import eventually
from tests.support.telemetry_rows import schema_connection

from .dashboard_support import store

TAG = secrets.token_hex(3)
SERVICE = f"shop-{TAG}"
SHIFTED = f"{SERVICE}:http.server.request.duration.p95{{http.route=/a/{{id}},code=5=00}}"
ODD = f"{SERVICE}:odd %2F/?a=1#x {{k=v}} é"
STEP = timedelta(seconds=30)


@dataclass(frozen=True)
class Seeded:
    client: httpx.AsyncClient
    judged: dict[str, list[Judgement]]
    incident: Incident  # open, holding SHIFTED's anomaly


def history(
    series: str, values: list[float], start: datetime
) -> tuple[MetricState, list[Judgement]]:
    state: MetricState | None = None
    verdicts = []
    for i, value in enumerate(values):
        state, verdict = judge(state, series, start + i * STEP, value, MetricConfig(min_points=10))
        verdicts.append(verdict)
    assert state is not None
    return state, verdicts


def metric_incident(now: datetime) -> Incident:
    """Open, as a cycle would open it for SHIFTED's latest anomalous point."""
    anomaly = Anomaly(
        type=AnomalyType.METRIC, key=SeriesKey(KeyKind.METRIC, SERVICE, SHIFTED), observed=500.0,
        baseline=100.0, threshold=112.0, window_start=now, window_end=now, sample_count=1,
        score=0.999999, sample_trace_ids=(), explanation=f"{SHIFTED}: 500 is above 100",
    )  # fmt: skip
    suspect = Suspect(SERVICE)
    finding = Finding(
        root_cause=suspect, candidates=(Candidate(suspect, 1.0, 0, "no traces"),),
        confidence=1.0, anomalies=(anomaly,), trace_ids=(), explanation="no traces",
    )  # fmt: skip
    return open_incident(
        finding, incident_id=new_incident_id(now, TAG), now=now, policy=IncidentPolicy()
    )


@pytest.fixture(scope="module")
async def seeded(database_url: str, redis_server: ContainerRedis) -> AsyncIterator[Seeded]:
    """Series stored before the analyzer starts leading (it loads them then): SHIFTED in the
    middle of a shift, ODD steady; then the analyzer, a cycle a second."""
    now = datetime.now(UTC)
    start = now - 50 * STEP
    shifted, shifted_judged = history(
        SHIFTED, [100.0 + i % 5 for i in range(40)] + [500.0] * 6, start
    )
    odd, odd_judged = history(ODD, [3e-9 * (1 + i % 3) for i in range(20)], start)
    assert shifted.run is not None
    async with schema_connection(database_url, analyzer=True) as conn:
        states = {SHIFTED: shifted, ODD: odd}
        await metric_states.save_states(conn, states, dict.fromkeys(states, (SERVICE, "up")))
        await metric_states.save_hours(conn, states, {})
        await metric_judgements.save_judgements(conn, [*shifted_judged, *odd_judged])
    incident = metric_incident(now)
    redis_url = redis_server.reset()
    await store(redis_url, incident)
    settings = AnalyzerSettings(
        database_url=database_url,
        redis_url=redis_url,
        partition_maintenance=False,  # the session database is shared
        analysis_interval=1,
        ingest_lag=0.5,
    )
    async with lifespan_client(create_app(settings)) as client:

        async def leads() -> bool:
            answer = AnalyzerHealth.model_validate_json((await client.get("/health")).content)
            return answer.role == "leader" and answer.cycles > 0

        await eventually(leads, within=15, what="the analyzer leads and has run a cycle")
        yield Seeded(client, {SHIFTED: shifted_judged, ODD: odd_judged}, incident)


def path(series: str, action: str) -> str:
    return f"/metric-series/{quote(series, safe='')}/{action}"


async def test_the_watched_series_are_listed_with_their_last_point(seeded: Seeded) -> None:
    listed = METRIC_SERIES.validate_json((await seeded.client.get("/metric-series")).content)
    mine = {s.series: s for s in listed if s.service == SERVICE}
    assert set(mine) == {SHIFTED, ODD}
    last = seeded.judged[SHIFTED][-1]
    shifted = mine[SHIFTED]
    assert (shifted.direction, shifted.at, shifted.value) == ("up", last.at, last.value)
    assert (shifted.expected, shifted.anomalous) == (last.expected, last.anomalous)
    assert shifted.anomalous


@pytest.mark.parametrize("series", [SHIFTED, ODD])
async def test_a_series_points_read_whatever_its_name_holds(seeded: Seeded, series: str) -> None:
    """Percent-encoded as one segment (encodeURIComponent), oldest first, `limit` newest."""
    judged = seeded.judged[series]
    answer = await seeded.client.get(path(series, "points"))
    assert answer.status_code == 200, answer.text
    points = METRIC_POINTS.validate_json(answer.content)
    assert [(p.at, p.value, p.anomalous) for p in points] == [
        (j.at, j.value, j.anomalous) for j in judged
    ]
    since = judged[2].at.isoformat()
    newest = METRIC_POINTS.validate_json(
        (
            await seeded.client.get(path(series, "points"), params={"since": since, "limit": 3})
        ).content
    )
    assert [p.at for p in newest] == [j.at for j in judged[-3:]]
    window = METRIC_POINTS.validate_json(
        (
            await seeded.client.get(
                path(series, "points"),
                params={"since": since, "until": judged[5].at.isoformat()},
            )
        ).content
    )
    assert [p.at for p in window] == [j.at for j in judged[2:5]]


async def test_a_name_with_slashes_braces_and_equals_also_works_unencoded(seeded: Seeded) -> None:
    answer = await seeded.client.get(f"/metric-series/{SHIFTED}/points")
    assert answer.status_code == 200, answer.text
    assert len(METRIC_POINTS.validate_json(answer.content)) == len(seeded.judged[SHIFTED])


async def test_an_unknown_series_is_a_404_that_says_where_to_look(seeded: Seeded) -> None:
    for method, action in (("GET", "points"), ("POST", "new-normal")):
        answer = await seeded.client.request(method, path(f"{SERVICE}:none/x", action))
        assert answer.status_code == 404, (method, answer.text)
        detail = ErrorDetail.model_validate_json(answer.content).detail
        assert f"{SERVICE}:none/x" in detail
        assert "GET /metric-series" in detail
    bad = await seeded.client.get(path(SHIFTED, "points"), params={"limit": 0})
    assert bad.status_code == 422


async def test_a_new_normal_asked_for_is_adopted_by_the_next_cycle_and_resolves_the_incident(
    seeded: Seeded, db: asyncpg.Connection
) -> None:
    answer = await seeded.client.post(path(SHIFTED, "new-normal"))
    assert answer.status_code == 202, answer.text
    requested = NewNormalRequested.model_validate_json(answer.content)
    assert requested.series == SHIFTED

    async def adopted() -> MetricState | None:
        state = (await metric_states.load_states(db, MetricConfig()))[SHIFTED]
        pending = await metric_states.pending_accepts(db)
        return state if state.new_normal_since is not None and SHIFTED not in pending else None

    state = await eventually(adopted, within=15, what="the next cycle adopts the new normal")
    since = seeded.judged[SHIFTED][40].at
    assert state.new_normal_since == since
    assert state.run is None

    async def resolved() -> Incident | None:
        answer = await seeded.client.get("/incidents", params={"status": "resolved"})
        listed = INCIDENTS.validate_json(answer.content)
        return next((i for i in listed if i.id == seeded.incident.id), None)

    incident = await eventually(resolved, within=15, what="the incident resolves")
    assert incident.status is Status.RESOLVED
    assert incident.resolved_by == "new_normal"
    assert incident.resolution == f"{SHIFTED}: new normal since {since:%Y-%m-%d %H:%M} UTC"


async def test_metrics_count_the_points_judged_and_the_series_watched(seeded: Seeded) -> None:
    text = (await seeded.client.get("/metrics")).text
    lines = text.splitlines()
    assert any(line.startswith("aiops_analyzer_metric_points_judged_total ") for line in lines)
    assert "# TYPE aiops_analyzer_metric_points_refused_total counter" in lines
    series = next(line for line in lines if line.startswith("aiops_analyzer_metric_series "))
    assert int(series.split()[1]) >= 2
