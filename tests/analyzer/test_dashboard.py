"""The analyzer's dashboard as a user sees it: headless Chromium against a live analyzer.

The analyzer runs as its own process over real shop telemetry, with one open
incident stored in Redis by the analyzer's own code. Chromium loads the page,
lets its scripts fetch and draw, and hands back the DOM (or a screenshot).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.resources import files

import asyncpg
import httpx
import pytest

from aiops_engine.incidents import Incident
from aiops_engine.incidents.lifecycle import new_incident_id
from aiops_telemetry import COLUMNS
from tests.conftest import Shop
from tests.support.containers import Browser, ContainerRedis
from tests.support.figures import ARTIFACTS
from tests.support.processes import ServiceProcess
from tests.support.traffic import checkouts as traffic

from .dashboard_support import load, refused_call, screenshot, slow_payment_incident, store

ORDER = {"items": [{"sku": "SKU-001", "quantity": 1}], "amount": 19.99, "currency": "USD"}
# The test's artefact (git-ignored); docs/dashboard.png, in the README, is a copy of one.
SCREENSHOT = ARTIFACTS / "dashboard.png"
ASSETS = files("analyzer").joinpath("dashboard")
TRAFFIC_S = 12.0  # a dozen one-second windows before the page is first loaded


@dataclass(frozen=True)
class Dashboard:
    url: str
    redis_url: str
    trace_id: str  # a real checkout trace, the incident's sample
    incident: Incident


@pytest.fixture(scope="module")
async def dashboard(
    database_url: str, redis_server: ContainerRedis, shop: Shop, browser: Browser
) -> AsyncIterator[Dashboard]:
    # `browser` is started first, so that building its image does not disturb the traffic.
    redis_url = redis_server.reset()
    analyzer = ServiceProcess(
        "analyzer.app:create_app",
        {
            "AIOPS_DATABASE_URL": database_url,
            "AIOPS_PARTITION_MAINTENANCE": "false",  # the session database is shared
            "AIOPS_REDIS_URL": redis_url,
            "AIOPS_ANALYSIS_INTERVAL": "1",
            "AIOPS_INGEST_LAG": "0.5",
            "AIOPS_BASELINE_MIN_WINDOWS": "3",  # thresholds to draw within the traffic
            # Chromium shares two cores with the shop and slows it down a little; only
            # the incident put in by hand should show.
            "AIOPS_LATENCY_MULTIPLIER": "8",
        },
    ).start()
    trace_id = f"dash-{secrets.token_hex(6)}"
    try:
        async with checkouts(shop, trace_id):
            await asyncio.sleep(TRAFFIC_S)  # windows to chart, and baselines to learn
            incident = slow_payment_incident(trace_id)
            await store(redis_url, incident)
            yield Dashboard(analyzer.url, redis_url, trace_id, incident)
    finally:
        analyzer.stop()


@contextlib.asynccontextmanager
async def checkouts(shop: Shop, trace_id: str) -> AsyncIterator[None]:
    """One checkout as `trace_id`, then a steady stream until the block ends: a live shop,
    so nothing falls silent (and opens an incident of its own) while the page is read."""
    async with httpx.AsyncClient(timeout=10) as client:
        first = await client.post(
            f"{shop.checkout.url}/checkout", json=ORDER, headers={"X-Trace-Id": trace_id}
        )
        assert first.is_success, first.text

        async with traffic(shop.checkout.url, per_second=20, order=ORDER):
            yield


# ---- Tests -----------------------------------------------------------------


async def test_the_page_shows_the_incident_graph_and_latency_against_baseline(
    dashboard: Dashboard, browser: Browser
) -> None:
    """The open incident names payment with its confidence; the graph and charts are drawn."""
    async with httpx.AsyncClient(timeout=10) as client:
        latency = (await client.get(f"{dashboard.url}/latency")).json()
    page = await asyncio.to_thread(load, browser, f"{dashboard.url}/")

    banner = page.one(id="error-banner")
    assert "hidden" in banner.attrs, banner.text
    assert not banner.text.strip()
    assert "leader" in page.one(id="health").text
    assert "Redis ok" in page.one(id="health").text

    card = page.one("article", data_incident=dashboard.incident.id)
    assert card.one(class_="root-cause").text == "payment /payment"
    assert card.one(class_="confidence-value").text == "87%"
    assert "payment /payment was slow first in 13/15 traces" in card.text
    assert "checkout /checkout" in card.one("table", class_="candidates").text
    assert "612 ms is 68.0x its baseline" in card.one("ul", class_="anomalies").text
    [link] = card.all("a", data_trace=dashboard.trace_id)
    assert link.attrs["href"] == f"#trace={dashboard.trace_id}"

    edge = page.one("g", data_edge="checkout→payment")
    assert "calls" in edge.text
    assert page.all("g", class_="root", data_service="payment")  # the root cause stands out

    endpoints = {e["key"] for e in latency["endpoints"]}
    assert {"checkout /checkout", "payment /payment"} <= endpoints
    for key in endpoints:
        chart = page.one("figure", data_key=key)
        assert chart.all("path", class_="p50"), key  # the p50 line, in the chart's SVG
    assert page.one("figure", data_key="payment /payment").all("line", class_="threshold")


async def test_a_trace_link_opens_the_tree_from_checkout_down_to_payment(
    dashboard: Dashboard, browser: Browser
) -> None:
    """#trace=<id> shows the trace's spans nested: checkout's server span, its call, payment's."""
    page = await asyncio.to_thread(load, browser, f"{dashboard.url}/#trace={dashboard.trace_id}")

    trace = page.one(id="trace-view").one(class_="trace", data_trace=dashboard.trace_id)
    spans = trace.all("li", class_="span")
    labels = [
        " ".join(s.one(class_="span-label").text.removeprefix("origin").split()) for s in spans
    ]
    checkout = labels.index("checkout POST /checkout")
    call = labels.index("checkout → payment POST /payment")
    served = labels.index("payment POST /payment")
    assert checkout < call < served, labels
    indent = [int(re.findall(r"\d+", s.one(class_="span-label").attrs["style"])[0]) for s in spans]
    assert indent[checkout] < indent[call] < indent[served], indent
    servers = [s for s in spans if "server" in s.attrs["class"].split()]
    assert all(re.fullmatch(r"2\d\d", s.one(class_="span-status").text) for s in servers)
    assert all("width" in s.one(class_="bar").attrs["style"] for s in spans)  # timing bars
    assert f"{len(spans)} spans" in trace.one("p", class_="trace-summary").text


async def test_a_screenshot_of_the_page_is_kept_as_an_artefact(
    dashboard: Dashboard, browser: Browser
) -> None:
    """A 1280x900 PNG of the page with a trace open, kept in tests/artifacts/."""
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    SCREENSHOT.unlink(missing_ok=True)
    url = f"{dashboard.url}/#trace={dashboard.trace_id}"
    png = await asyncio.to_thread(screenshot, browser, url)
    SCREENSHOT.write_bytes(png)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(png) > 30_000  # a blank or error page compresses far smaller
    assert (int.from_bytes(png[16:20]), int.from_bytes(png[20:24])) == (1280, 900)


async def test_assets_are_served_by_name_only_and_nothing_else(dashboard: Dashboard) -> None:
    """The page and its two assets load from the analyzer; any other name is a 404."""
    async with httpx.AsyncClient(base_url=dashboard.url, timeout=10) as client:
        page = await client.get("/")
        script = await client.get("/static/dashboard.js")
        style = await client.get("/static/dashboard.css")
        others = [await client.get(f"/static/{n}") for n in ("index.html", "..%2Fapp.py", "x.js")]
    assert page.headers["content-type"].startswith("text/html")
    assert {"static/dashboard.js", "static/dashboard.css"} <= set(
        re.findall(r"static/[\w.]+", page.text)
    )
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert script.headers["content-type"].startswith("text/javascript")
    assert style.headers["content-type"].startswith("text/css")
    assert [r.status_code for r in others] == [404, 404, 404]


def test_the_page_and_its_assets_reference_no_external_url() -> None:
    """Offline means no CDN: no http:// or https:// anywhere in the page or its assets."""
    for name in ("index.html", "dashboard.js", "dashboard.css"):
        text = ASSETS.joinpath(name).read_text(encoding="utf-8")
        assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/", text, re.I), name
        # Text from the API is set as text, never parsed as markup.
        assert not re.search(r"innerHTML|outerHTML|insertAdjacentHTML", text), name


async def test_latency_reports_each_window_p50_with_the_baseline_threshold(
    dashboard: Dashboard,
) -> None:
    """GET /latency: one-second buckets of server spans, the baseline level and threshold."""
    async with httpx.AsyncClient(timeout=10) as client:
        body = (await client.get(f"{dashboard.url}/latency", params={"minutes": 1})).json()
        baselines = (await client.get(f"{dashboard.url}/baselines")).json()
    assert body["bucket_s"] == 1
    [payment] = [e for e in body["endpoints"] if e["key"] == "payment /payment"]
    starts = [datetime.fromisoformat(p["start"]) for p in payment["points"]]
    assert len(starts) >= TRAFFIC_S / 2
    assert starts == sorted(starts)
    assert all(s.microsecond == 0 for s in starts)  # bucket starts on whole seconds
    assert all(p["count"] >= 1 and p["p50_ms"] > 0 for p in payment["points"])
    [learned] = [b for b in baselines if b["key"] == "payment /payment"]
    assert payment["baseline"]["level_ms"] == pytest.approx(learned["level_ms"], rel=0.5)
    assert payment["baseline"]["established"] is True
    assert payment["baseline"]["threshold_ms"] > payment["baseline"]["level_ms"]
    assert not [e for e in body["endpoints"] if e["key"].startswith("checkout →")]


async def test_api_text_is_shown_as_text_and_an_edge_with_failed_calls_is_red(
    dashboard: Dashboard, browser: Browser, database_url: str
) -> None:
    """Markup in an incident is shown literally, never run; a refused callee's edge is red."""
    caller, callee = f"probe-{secrets.token_hex(3)}", f"ghost-{secrets.token_hex(3)}"
    now = datetime.now(UTC)
    refused = [refused_call(caller, callee, at=now) for _ in range(2)]
    conn = await asyncpg.connect(database_url)
    try:
        await conn.copy_records_to_table("telemetry", records=refused, columns=COLUMNS)
    finally:
        await conn.close()
    markup = '<img src="x" onerror="document.title = 1">'
    incident = slow_payment_incident(dashboard.trace_id).model_copy(
        update={
            "id": new_incident_id(now, secrets.token_hex(2)),
            "title": f"{markup} slow",
            "explanation": f"<b>{markup}</b>",
        }
    )
    await store(dashboard.redis_url, incident)
    async with httpx.AsyncClient(timeout=10) as client:
        for _ in range(50):  # the next cycle learns the edge
            graph = (await client.get(f"{dashboard.url}/dependencies")).json()
            if any(e["caller"] == caller for e in graph["edges"]):
                break
            await asyncio.sleep(0.2)
    page = await asyncio.to_thread(load, browser, f"{dashboard.url}/")

    card = page.one("article", data_incident=incident.id)
    assert card.one("h3").text == f"{markup} slow"
    assert card.one("p", class_="explanation").text == f"<b>{markup}</b>"
    assert (card.all("img"), card.all("b")) == ([], [])
    assert page.one("head").one("title").text == "AIOps analyzer"  # the onerror never ran
    edge = page.one("g", data_edge=f"{caller}→{callee}")
    assert "failing" in edge.attrs["class"].split()
    assert "100% errors" in edge.text
    assert "failing" not in page.one("g", data_edge="checkout→payment").attrs["class"].split()
