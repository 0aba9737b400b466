"""What the dashboard tests use: headless Chromium, the DOM it hands back, and the data
put in by hand (an incident as the analyzer would open it, a refused call)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

from redis.asyncio import Redis

from aiops_engine.detection import Anomaly, AnomalyType, SeriesKey
from aiops_engine.incidents import Incident, IncidentPolicy
from aiops_engine.incidents.lifecycle import new_incident_id, open_incident
from aiops_engine.rca import Candidate, Suspect
from aiops_telemetry import CLIENT, SpanRow
from analyzer.incidents import IncidentStore
from tests.support.containers import Browser
from tests.support.telemetry_rows import span

from .incidents.findings import CHECKOUT, finding

# ---- Chromium, and reading what it shows ----------------------------------

CHROMIUM = (
    "chromium", "--headless=new", "--no-sandbox", "--disable-gpu",
    "--disable-dev-shm-usage", "--no-first-run", "--hide-scrollbars",
    "--virtual-time-budget=8000", "--window-size=1280,900",
)  # fmt: skip


def _chromium(browser: Browser, args: tuple[str, ...], then: str = "") -> bytes:
    """Chromium in the browser container, in a fresh folder that is its profile and its
    working directory (where --screenshot writes), removed when it is done; `then` is
    shell run in that folder after Chromium succeeded. The stdout of both."""
    script = f'cd "$(mktemp -d)" && trap \'rm -rf "$PWD"\' EXIT && "$@" {then}'
    command = (*CHROMIUM, "--user-data-dir=profile", *args)
    done = browser.run("sh", "-c", script, "sh", *command, timeout=90)
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-3000:]
    return done.stdout


def run_chromium(browser: Browser, *args: str) -> str:
    """Headless Chromium with its own throwaway profile; its stdout."""
    return _chromium(browser, args).decode()


def screenshot(browser: Browser, url: str) -> bytes:
    """A PNG of the page at the window's size. Chromium writes it in the container, where
    `cat` reads it back: no folder is shared with the host."""
    return _chromium(browser, ("--screenshot", url), then=">&2 && cat screenshot.png")


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    children: list[Element | str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text for c in self.children)

    def all(self, tag: str | None = None, **attrs: str) -> list[Element]:
        """Descendants with this tag (any if None) and these attribute values (`class_` is
        one class among the element's)."""
        found = []
        for child in self.children:
            if isinstance(child, str):
                continue
            if (tag is None or child.tag == tag) and all(
                value in child.attrs.get("class", "").split()
                if name == "class_"
                else child.attrs.get(name.replace("_", "-")) == value
                for name, value in attrs.items()
            ):
                found.append(child)
            found.extend(child.all(tag, **attrs))
        return found

    def one(self, tag: str | None = None, **attrs: str) -> Element:
        [found] = self.all(tag, **attrs)
        return found


class _TreeBuilder(HTMLParser):
    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {name: value or "" for name, value in attrs})
        self.stack[-1].children.append(element)
        if tag not in self.VOID:
            self.stack.append(element)

    def handle_endtag(self, tag: str) -> None:
        while len(self.stack) > 1 and self.stack.pop().tag != tag:
            pass

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(html: str) -> Element:
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root


def load(browser: Browser, url: str) -> Element:
    """The page's DOM after its scripts have fetched and drawn."""
    return parse(run_chromium(browser, "--dump-dom", url))


# ---- Data put in by hand ---------------------------------------------------


def slow_payment_incident(trace_id: str) -> Incident:
    """An open incident as the analyzer would open it for a slow payment."""
    now = datetime.now(UTC)

    def latency(service: str, endpoint: str, observed: float, baseline: float) -> Anomaly:
        key = SeriesKey.endpoint(service, endpoint)
        return Anomaly(
            type=AnomalyType.LATENCY,
            key=key,
            observed=observed,
            baseline=baseline,
            threshold=baseline * 3,
            window_start=now - timedelta(seconds=1),
            window_end=now,
            sample_count=40,
            score=0.9,
            sample_trace_ids=(trace_id,),
            explanation=f"{key}: median latency {observed:.0f} ms is "
            f"{observed / baseline:.1f}x its baseline {baseline:.0f} ms.",
        )

    payment = Suspect("payment", "/payment")
    slow_first = finding(
        payment,
        latency("payment", "/payment", 612, 9),
        latency("checkout", "/checkout", 655, 31),
        confidence=0.87,
        traces=(trace_id,),
        candidates=(
            Candidate(payment, 0.87, 13, "was slow first in 13/15 traces"),
            Candidate(CHECKOUT, 0.13, 2, "was slow first in 2/15 traces"),
        ),
        explanation="payment /payment was slow first in 13/15 traces",
    )
    return open_incident(
        slow_first,
        incident_id=new_incident_id(now, secrets.token_hex(2)),
        now=now,
        policy=IncidentPolicy(),
    )


def refused_call(caller: str, callee: str, *, at: datetime) -> SpanRow:
    """A client span of a call the callee refused: a failed call, and no server span."""
    return span(
        caller, at=at, endpoint="/charge", status=None, latency_ms=2.0, kind=CLIENT, peer=callee,
        error_kind="connection_refused", error_message="connection refused",
    )  # fmt: skip


async def store(redis_url: str, incident: Incident) -> None:
    """Into Redis as the analyzer stores incidents, where every replica reads them."""
    redis = Redis.from_url(redis_url)
    try:
        assert await IncidentStore(redis, ttl_s=3600).create(incident)
    finally:
        await redis.aclose()
