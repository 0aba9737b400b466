"""The dashboard's metric series panel as a user sees it: headless Chromium against a live
analyzer whose database holds judged metric series.

The judgements are written with the analyzer's own store functions (as its cycle writes
them) for series of this module's own, so whatever else the session's database holds,
what is asserted is known: which points are anomalous, where the series was learning,
where a new normal was adopted. Chromium loads the page, lets its scripts fetch and draw,
and hands back the DOM: the list, and the selected series' SVG chart.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from urllib.parse import quote

import httpx
import pytest

from aiops_engine.metrics import Judgement, MetricConfig, MetricState, judge
from analyzer.store import metric_judgements, metric_states
from tests.analyzer.dashboard_support import Element, load
from tests.support.containers import Browser, ContainerRedis
from tests.support.processes import ServiceProcess
from tests.support.telemetry_rows import schema_connection

ASSETS = files("analyzer").joinpath("dashboard")
TAG = secrets.token_hex(3)
STEP = timedelta(seconds=30)
POINTS = 80  # 40 minutes of judgements, inside the chart's last hour


@dataclass(frozen=True)
class Watched:
    """One series written for the page: its name, and the judgements stored for it."""

    series: str
    service: str
    direction: str
    judgements: list[Judgement]

    @property
    def anomalous(self) -> list[Judgement]:
        return [j for j in self.judgements if j.anomalous]


def judged(
    series: str,
    level: float,
    *,
    learning: int = 10,
    spikes: frozenset[int] = frozenset(),
    spike: float = 5.0,
    shift: tuple[int, int, float] | None = None,
) -> list[Judgement]:
    """POINTS judgements ending now, as the analyzer judges a series: the first `learning`
    with nothing expected yet, then a band of ±20 % around the expected level; `spikes`
    at `spike` times the level, anomalous. A `shift` (from, adopted, factor) moves the
    level by `factor` from point `from` on: anomalous until the new level is adopted at
    point `adopted`, expected from there."""
    start = datetime.now(UTC) - POINTS * STEP
    begins, adopted, factor = shift or (POINTS, POINTS, 1.0)
    out = []
    for k in range(POINTS):
        at = start + k * STEP
        actual = level * (factor if k >= begins else 1.0)
        normal = level * (factor if k >= adopted else 1.0)
        value = actual * (spike if k in spikes else 1 + (k % 5 - 2) / 40)
        band = (None, None, None) if k < learning else (normal, normal * 0.8, normal * 1.2)
        anomalous = k in spikes or begins <= k < adopted
        out.append(
            Judgement(
                series=series, at=at, value=value, expected=band[0], lower=band[1],
                upper=band[2], score=0.999 if anomalous else 0.2, anomalous=anomalous,
                explanation=f"{series}: {value:.3g} against an expected {normal:.3g}",
                new_normal_since=start + begins * STEP if k == adopted else None,
            )
        )  # fmt: skip
    return out


# What a user would watch, and what breaks a careless page: markup, quotes and URL
# syntax in a name, values of 1e-9 and of 1e12.
LATENCY = f"shop-{TAG}:http.server.request.duration.p95{{http.route=/checkout}}"
CONVERSION = f"shop-{TAG}:conversion"
ODD = f"odd-{TAG}:<b>bold</b> & 'it''s' \"q\" ?a=1#x %2F/ é"
FRESH = f"fresh-{TAG}:gauge"
SERIES = [
    Watched(LATENCY, f"shop-{TAG}", "up", judged(LATENCY, 2.5e12, spikes=frozenset({78, 79}))),
    # Three bad points, then a drop that held: anomalous until adopted as the new normal.
    Watched(
        CONVERSION,
        f"shop-{TAG}",
        "down",
        judged(CONVERSION, 0.031, spikes=frozenset({30, 31, 32}), spike=0.2, shift=(40, 50, 0.6)),
    ),
    Watched(ODD, f"odd-{TAG}", "both", judged(ODD, 3e-9, spikes=frozenset({60}))),
    Watched(FRESH, f"fresh-{TAG}", "both", judged(FRESH, 7.0, learning=POINTS)),
]
BY_NAME = {w.series: w for w in SERIES}


@pytest.fixture(scope="module")
async def analyzer_url(
    database_url: str, redis_server: ContainerRedis, browser: Browser
) -> AsyncIterator[str]:
    """A live analyzer over a database holding the module's judged series."""
    analyzer = ServiceProcess(
        "analyzer.app:create_app",
        {
            "AIOPS_DATABASE_URL": database_url,
            "AIOPS_PARTITION_MAINTENANCE": "false",  # the session database is shared
            "AIOPS_REDIS_URL": redis_server.reset(),
        },
    ).start()
    try:
        async with schema_connection(database_url, analyzer=True) as conn:
            states = {w.series: first_state(w) for w in SERIES}
            owners = {w.series: (w.service, w.direction) for w in SERIES}
            await metric_states.save_states(conn, states, owners)
            await metric_judgements.save_judgements(conn, [j for w in SERIES for j in w.judgements])
        yield analyzer.url
    finally:
        analyzer.stop()


def first_state(watched: Watched) -> MetricState:
    """A state as the analyzer keeps one, from the series' first point."""
    first = watched.judgements[0]
    state, _ = judge(None, watched.series, first.at, first.value, MetricConfig())
    assert state is not None
    return state


def encoded(series: str) -> str:
    """`series` as JavaScript's encodeURIComponent writes it."""
    return quote(series, safe="!'()*")


def page_url(base: str, series: str | None = None) -> str:
    return f"{base}/" + ("" if series is None else f"#series={encoded(series)}")


def chart_of(page: Element, series: str) -> Element:
    """The figure drawn for `series`: it alone is in the panel's chart area."""
    [figure] = page.one(id="metric-chart").all("figure")
    assert figure.attrs["data-series"] == series
    return figure


def d_of(path: Element) -> list[str]:
    """The commands of an SVG path: M starts a stretch, L continues it."""
    return re.findall(r"[MLZ][^MLZ]*", path.attrs["d"])


# ---- Tests -----------------------------------------------------------------


async def test_the_panel_lists_the_watched_series_anomalous_first(
    analyzer_url: str, browser: Browser
) -> None:
    """Every series of the module is listed; those whose last point is anomalous come first,
    marked; with no series in the address the first listed is the one charted."""
    page = await asyncio.to_thread(load, browser, page_url(analyzer_url))

    items = page.one(id="metric-list").all("li", class_="metric-item")
    names = [item.attrs["data-series"] for item in items]
    assert set(BY_NAME) <= set(names), names
    flags = ["anomalous" in item.attrs["class"].split() for item in items]
    assert flags == sorted(flags, reverse=True), "anomalous series are listed first"
    assert flags[names.index(LATENCY)]
    assert not flags[names.index(CONVERSION)]
    assert names.index(LATENCY) < min(names.index(s) for s in (CONVERSION, ODD, FRESH))
    assert "selected" in items[0].attrs["class"].split()
    chart_of(page, names[0])
    # Each links to its own chart; the name is the link's text, never markup.
    [odd] = [item for item in items if item.attrs["data-series"] == ODD]
    assert odd.one("a").attrs["href"] == f"#series={encoded(ODD)}"
    assert odd.one("span", class_="metric-name").text == ODD
    assert not odd.all("b")
    count = page.one(id="metric-count").text
    assert count
    assert int(count) >= 1


async def test_a_selected_series_is_drawn_with_its_band_expected_line_and_anomalies(
    analyzer_url: str, browser: Browser
) -> None:
    """The conversion series: the value line, the expected line and the shaded band where
    the series was judged (not while it was learning), a red marker per anomalous point,
    each explained on hover, and the new normal where it was adopted."""
    watched = BY_NAME[CONVERSION]
    page = await asyncio.to_thread(load, browser, page_url(analyzer_url, CONVERSION))

    [item] = [
        i for i in page.all("li", class_="metric-item") if i.attrs["data-series"] == CONVERSION
    ]
    assert "selected" in item.attrs["class"].split()
    figure = chart_of(page, CONVERSION)
    svg = figure.one("svg")
    assert len(d_of(svg.one("path", class_="value"))) == POINTS  # one stretch, every point
    expected = d_of(svg.one("path", class_="expected"))
    assert len(expected) == POINTS - 10
    assert expected[0].startswith("M")
    [band] = svg.all("path", class_="band")
    assert len(d_of(band)) == 2 * (POINTS - 10) + 1  # upper edge, lower edge back, closed

    markers = svg.all("circle", class_="anomaly")
    assert len(markers) == len(watched.anomalous) == 3 + 10  # the dip, the drop's run
    for marker, judgement in zip(markers, watched.anomalous, strict=True):
        assert marker.one("title").text.endswith(judgement.explanation)
        assert "ANOMALOUS" in marker.one("title").text
    hover = svg.all("rect", class_="hit")
    assert len(hover) == POINTS
    assert hover[0].one("title").text.endswith(watched.judgements[0].explanation)
    assert "learning" in hover[0].one("title").text

    [adopted] = svg.all("g", class_="new-normal")  # where adopted, the drop held since
    assert moment(adopted.attrs["data-at"]) == watched.judgements[50].at
    assert moment(adopted.attrs["data-since"]) == watched.judgements[40].at
    assert "13 of 80 points anomalous" in figure.one("figcaption").text


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def test_odd_names_and_tiny_or_huge_values_read_well(
    analyzer_url: str, browser: Browser
) -> None:
    """A name full of markup and URL syntax reaches the API and the chart intact, as text;
    axis labels of 1e-9 and 1e12 values are short and tell the ticks apart."""
    odd = await asyncio.to_thread(load, browser, page_url(analyzer_url, ODD))
    figure = chart_of(odd, ODD)
    assert figure.one("figcaption").one("strong").text == ODD
    assert not figure.all("b")
    assert odd.one("head").one("title").text == "AIOps analyzer"
    assert len(figure.all("circle", class_="anomaly")) == 1
    assert_ticks(figure, r"\de-[89]")

    huge = await asyncio.to_thread(load, browser, page_url(analyzer_url, LATENCY))
    assert_ticks(chart_of(huge, LATENCY), r"\dT")


def assert_ticks(figure: Element, unit: str) -> None:
    """The y axis: a few labels, distinct, each a few characters, with the `unit` pattern
    (an exponent, an SI prefix) where not 0."""
    labels = [t.text for t in figure.all("text", class_="tick") if t.attrs["text-anchor"] == "end"]
    y_labels = [label for label in labels if label != "now" and ":" not in label]
    assert 3 <= len(y_labels) <= 9, labels
    assert len(set(y_labels)) == len(y_labels), labels
    assert all(len(label) <= 8 and re.search(unit, label) for label in y_labels if label != "0")


async def test_a_series_still_learning_has_a_value_line_and_no_band(
    analyzer_url: str, browser: Browser
) -> None:
    """Nothing expected yet: the value is drawn, with neither expected line nor band."""
    page = await asyncio.to_thread(load, browser, page_url(analyzer_url, FRESH))
    figure = chart_of(page, FRESH)
    assert figure.one("svg").all("path", class_="value")
    assert not figure.all("path", class_="band")
    assert not figure.all("path", class_="expected")
    assert "learning" in figure.one("figcaption").text


async def test_the_chart_reads_the_api_the_rows_came_from(analyzer_url: str) -> None:
    """What the page reads: the series with its last point, and its points oldest first."""
    async with httpx.AsyncClient(base_url=analyzer_url, timeout=10) as client:
        listed = (await client.get("/metric-series")).json()
        points = (await client.get(f"/metric-series/{encoded(ODD)}/points")).json()
        script = await client.get("/static/metric_chart.js")
        style = await client.get("/static/metric_chart.css")
    [odd] = [row for row in listed if row["series"] == ODD]
    assert odd["anomalous"] is False
    assert odd["direction"] == "both"
    assert [p["anomalous"] for p in points] == [j.anomalous for j in BY_NAME[ODD].judgements]
    assert script.headers["content-type"].startswith("text/javascript")
    assert style.headers["content-type"].startswith("text/css")


def test_the_chart_s_assets_reference_no_external_url() -> None:
    """Offline means no CDN; text from the API is set as text, never parsed as markup."""
    page = ASSETS.joinpath("index.html").read_text(encoding="utf-8")
    for name in ("metric_chart.js", "metric_chart.css"):
        assert f"static/{name}" in page, name
        text = ASSETS.joinpath(name).read_text(encoding="utf-8")
        assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/", text, re.I), name
        assert not re.search(r"innerHTML|outerHTML|insertAdjacentHTML", text), name
