"""The analyzer's own dashboard: `GET /` (one page, four assets) and the latency it charts.

The page is static and polls the JSON API (/health, /incidents,
/dependencies, /latency, /traces/{id}, /metric-series), so it needs nothing
but this process: no CDN, no build step, no framework. The assets are package
files, read once at import, and only those names are served.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import HTMLResponse, Response

from aiops_api.analyzer import EndpointLatency, Latency, LatencyBaseline, LatencyPoint
from aiops_engine.detection import Baseline, DetectionConfig, is_established, latency_threshold
from aiops_telemetry import DatabaseDep
from analyzer import store

from .dependencies import SettingsDep
from .errors import DATABASE_DOWN

router = APIRouter()

_PACKAGE = files("analyzer").joinpath("dashboard")
_PAGE = _PACKAGE.joinpath("index.html").read_text(encoding="utf-8")
_ASSETS = {
    "dashboard.js": ("text/javascript; charset=utf-8", _PACKAGE.joinpath("dashboard.js")),
    "dashboard.css": ("text/css; charset=utf-8", _PACKAGE.joinpath("dashboard.css")),
    "metric_chart.js": ("text/javascript; charset=utf-8", _PACKAGE.joinpath("metric_chart.js")),
    "metric_chart.css": ("text/css; charset=utf-8", _PACKAGE.joinpath("metric_chart.css")),
}
_ASSET_BYTES = {name: (media, path.read_bytes()) for name, (media, path) in _ASSETS.items()}

# The browser may load only this origin's files and call only this origin: a
# page that worked here only thanks to a CDN would fail in its first test.
_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    ),
    "Cache-Control": "no-cache",  # a new analyzer version shows at the next load
}

# More points than a small chart has pixels only costs bandwidth every refresh.
MAX_BUCKETS = 1000


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def page() -> HTMLResponse:
    """The dashboard: incidents, latency against baseline, dependencies, traces."""
    return HTMLResponse(_PAGE, headers=_HEADERS)


@router.get("/static/{name}", include_in_schema=False)
async def asset(name: str) -> Response:
    """dashboard.js, dashboard.css or the metric chart's; any other name is a 404, never a
    file lookup."""
    if name not in _ASSET_BYTES:
        raise HTTPException(404, f"no asset {name!r}; there are {sorted(_ASSET_BYTES)}")
    media, body = _ASSET_BYTES[name]
    return Response(body, media_type=media, headers=_HEADERS)


@router.get("/latency", responses=DATABASE_DOWN)
async def latency(
    db: DatabaseDep,
    settings: SettingsDep,
    minutes: Annotated[float, Query(gt=0, le=90 * 24 * 60)] = 15,
) -> Latency:
    """Per endpoint (server spans): the p50 of each analysis-window-long bucket of the last
    `minutes`, with its baseline level and, once established, the threshold it is judged by.

    Buckets are a whole number of windows, widened only when more than 1,000
    would be drawn; beyond a few hours (read from the rollups) a whole number
    of minutes. Only endpoints with requests in the range are listed: one
    that stopped shows as a line that ends, one long retired not at all.
    """
    until = datetime.now(UTC)
    since = until - timedelta(minutes=minutes)
    step_s = 60.0 if until - since > store.dashboard.RAW_RANGE else settings.analysis_interval
    bucket_s = step_s * max(1, math.ceil(minutes * 60 / step_s / MAX_BUCKETS))
    async with db.connection() as conn:
        series = await store.dashboard.latency_buckets(
            conn, start=since, end=until, bucket_s=bucket_s
        )
        baselines = await store.baselines.load_baselines(conn)
    config = settings.detection()
    return Latency(
        since=since,
        until=until,
        bucket_s=bucket_s,
        endpoints=[
            EndpointLatency(
                key=str(key),
                service=key.service,
                endpoint=key.target,
                points=[
                    LatencyPoint(start=p.start, count=p.count, p50_ms=p.p50_ms) for p in points
                ],
                baseline=_baseline(baselines.get(key), config),
            )
            for key, points in sorted(series.items())
        ],
    )


def _baseline(baseline: Baseline | None, config: DetectionConfig) -> LatencyBaseline | None:
    """The level always; the threshold once established, as detection only judges from then."""
    if baseline is None:
        return None
    established = is_established(baseline, config)
    return LatencyBaseline(
        level_ms=baseline.level_ms,
        spread_ms=baseline.spread_ms,
        windows=baseline.windows,
        established=established,
        threshold_ms=latency_threshold(baseline, config) if established else None,
    )
