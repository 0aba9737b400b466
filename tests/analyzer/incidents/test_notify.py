"""Webhook notifications, delivered over loopback to a real HTTP receiver."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from aiops_engine.incidents.model import (
    EventKind,
    Incident,
    IncidentEvent,
    RankedCandidate,
    RootCause,
    Severity,
    Status,
)
from analyzer.incidents.notify import (
    NOTIFY_ON,
    Notifier,
    NotifierStats,
    WebhookTarget,
    parse_targets,
)
from analyzer.incidents.render import generic_body, slack_body
from tests.support.fake_http import FakeServer, fake_server

OPENED_AT = datetime(2026, 11, 27, 10, 15, 2, tzinfo=UTC)


def incident(**changes: Any) -> Incident:
    """A payment incident as the analyzer would open it; `changes` override fields."""
    fields: dict[str, Any] = {
        "id": "INC-20261127-101502-3f2a",
        "title": "payment /payment is failing",
        "status": Status.OPEN,
        "severity": Severity.CRITICAL,
        "root_cause": RootCause(service="payment", endpoint="/payment"),
        "candidates": [
            RankedCandidate(
                service="payment",
                endpoint="/payment",
                score=0.8,
                traces=4,
                evidence="failed first in 4/5 traces",
            )
        ],
        "confidence": 0.8,
        "explanation": "payment /payment failed first in 4/5 traces",
        "affected_services": ["checkout", "payment"],
        "affected_endpoints": ["checkout /checkout", "payment /payment"],
        "anomalies": [],
        "sample_trace_ids": [f"{n:032x}" for n in range(1, 6)],
        "opened_at": OPENED_AT,
        "updated_at": OPENED_AT,
        "last_anomaly_at": OPENED_AT,
    }
    return Incident(**(fields | changes))


def event(kind: EventKind = EventKind.OPENED, **changes: Any) -> IncidentEvent:
    return IncidentEvent(
        kind=kind,
        at=OPENED_AT + timedelta(seconds=30),
        incident=incident(**changes),
        detail=f"{kind.value} by the test",
    )


def notifier_for(*targets: WebhookTarget, **settings: Any) -> Notifier:
    """A Notifier that does not back off, so retries happen at once."""
    return Notifier(targets, **{"timeout": 2.0, "backoff_s": 0.0, **settings})


async def until(condition: Callable[[], bool]) -> None:
    """Let the workers run until `condition` holds (pytest-timeout bounds a hang)."""
    while not condition():
        await asyncio.sleep(0.01)


def received(server: FakeServer) -> list[Any]:
    return [json.loads(body) for body in server.bodies]


async def test_a_json_target_receives_the_event_and_the_whole_incident() -> None:
    """The generic body: event name, time, detail and the incident as the API returns it."""
    sent = event(EventKind.SEVERITY_CHANGED)
    async with fake_server() as server, notifier_for(WebhookTarget(server.url)) as notifier:
        notifier.notify(sent)
        await notifier.join()

    [body] = received(server)
    assert body == generic_body(sent)
    assert body["event"] == "incident.severity_changed"
    assert body["detail"] == "severity_changed by the test"
    assert datetime.fromisoformat(body["at"]) == sent.at
    assert Incident.model_validate(body["incident"]) == sent.incident
    assert server.headers[0]["content-type"] == "application/json"
    assert notifier.stats == NotifierStats(sent=1)


async def test_a_slack_target_receives_a_fallback_text_and_a_mrkdwn_section() -> None:
    """The Slack body: a one-line `text` and one section block with the incident's facts."""
    sent = event(EventKind.OPENED, title="payment <b> & co")
    async with (
        fake_server() as server,
        notifier_for(WebhookTarget(server.url, "slack")) as notifier,
    ):
        notifier.notify(sent)
        await notifier.join()

    [body] = received(server)
    assert body == slack_body(sent)
    assert set(body) == {"text", "blocks"}
    assert body["text"] == (
        ":rotating_light: INC-20261127-101502-3f2a opened (critical): "
        "payment /payment — payment /payment failed first in 4/5 traces"
    )
    [block] = body["blocks"]
    assert block["type"] == "section"
    assert block["text"]["type"] == "mrkdwn"
    section = block["text"]["text"]
    assert "payment &lt;b&gt; &amp; co" in section  # Slack markup is escaped
    for fact in ("`payment /payment`", "80%", "critical", "open", "checkout, payment"):
        assert fact in section
    traces = [t for t in sent.incident.sample_trace_ids if t in section]
    assert traces == sent.incident.sample_trace_ids[:3]


async def test_server_errors_are_retried_until_delivered_once() -> None:
    """500, 500, then 200: one delivery after two retries."""
    async with (
        fake_server(replies=[500, 500, 200]) as server,
        notifier_for(WebhookTarget(server.url), retries=3) as notifier,
    ):
        notifier.notify(event())
        await notifier.join()

    assert len(server.bodies) == 3
    assert notifier.stats == NotifierStats(sent=1, retried=2)


@pytest.mark.parametrize("status", [429, 503])
async def test_a_target_that_keeps_failing_is_given_up_after_the_retries(status: int) -> None:
    """429 and 5xx are retried, `retries` times, then the delivery counts as failed."""
    async with (
        fake_server(status=status) as server,
        notifier_for(WebhookTarget(server.url), retries=2) as notifier,
    ):
        notifier.notify(event())
        await notifier.join()

    assert len(server.bodies) == 3
    assert notifier.stats == NotifierStats(failed=1, retried=2)


async def test_a_client_error_is_not_retried_and_is_logged_without_the_secret(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """404 is final: failed=1 after one attempt; the log names scheme://host only."""
    caplog.set_level(logging.INFO, logger="analyzer.notify")
    async with fake_server(status=404) as server:
        url = f"{server.url}/services/T000/B000/s3cret?token=s3cret"
        async with notifier_for(WebhookTarget(url, "slack"), retries=3) as notifier:
            notifier.notify(event())
            await notifier.join()

    assert len(server.bodies) == 1
    assert notifier.stats == NotifierStats(failed=1)
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert f"127.0.0.1:{server.port}/…" in warning.getMessage()
    assert "404" in warning.getMessage()
    assert "s3cret" not in caplog.text


async def test_a_hanging_receiver_times_out_and_is_retried_while_notify_returns_at_once() -> None:
    """notify() only queues; the worker's attempt times out and the retry gets through."""
    async with fake_server(replies=["hang", 200]) as server:
        target = WebhookTarget(server.url)
        async with Notifier([target], timeout=0.2, retries=2, backoff_s=0.0) as notifier:
            notifier.notify(event())
            # Nothing has been attempted yet: notify() returned before any I/O.
            assert notifier.pending == 1
            assert server.bodies == []
            assert notifier.stats == NotifierStats()
            await notifier.join()

    assert len(server.bodies) == 2
    assert notifier.stats == NotifierStats(sent=1, retried=1)
    assert notifier.pending == 0


async def test_a_hanging_target_does_not_hold_up_another() -> None:
    """Each target has its own worker: the healthy one is served while the other hangs."""
    async with fake_server(mode="hang") as stuck, fake_server() as healthy:
        targets = [WebhookTarget(stuck.url), WebhookTarget(healthy.url)]
        async with Notifier(targets, timeout=60.0, drain_timeout=0.0) as notifier:
            notifier.notify(event())
            notifier.notify(event(EventKind.RESOLVED))
            await until(lambda: notifier.stats.sent == 2)
            assert len(stuck.bodies) == 1  # still on its first attempt
            assert len(healthy.bodies) == 2

    # Shutdown gave up at once on the stuck target's in-flight and queued deliveries.
    assert notifier.stats == NotifierStats(sent=2, dropped=2)


async def test_a_full_queue_drops_and_counts() -> None:
    """Beyond `queue_size` deliveries waiting for a target, notify() drops and counts."""
    async with fake_server() as server:
        notifier = notifier_for(WebhookTarget(server.url), queue_size=2)
        for _ in range(3):
            notifier.notify(event())  # workers not started yet: nothing leaves the queue
        assert notifier.stats == NotifierStats(dropped=1)
        async with notifier:
            pass

    assert len(server.bodies) == 2
    assert notifier.stats == NotifierStats(sent=2, dropped=1)


@pytest.mark.parametrize("kind", sorted(set(EventKind) - NOTIFY_ON))
async def test_kinds_outside_notify_on_are_not_sent(kind: EventKind) -> None:
    """Updates, acknowledgements and root-cause changes are history, not messages."""
    async with fake_server() as server, notifier_for(WebhookTarget(server.url)) as notifier:
        notifier.notify(event(kind))
        assert notifier.pending == 0

    assert server.bodies == []
    assert notifier.stats == NotifierStats()


def test_without_targets_notify_does_nothing() -> None:
    """No webhooks configured: events are accepted and forgotten."""
    notifier = Notifier([])
    notifier.notify(event())
    assert notifier.pending == 0
    assert notifier.stats == NotifierStats()


async def test_exit_delivers_what_is_queued() -> None:
    """Leaving the context drains the queues before closing the client."""
    async with fake_server() as server:
        targets = [WebhookTarget(server.url), WebhookTarget(server.url, "slack")]
        async with notifier_for(*targets) as notifier:
            for kind in (EventKind.OPENED, EventKind.SEVERITY_CHANGED, EventKind.RESOLVED):
                notifier.notify(event(kind))

    assert notifier.stats == NotifierStats(sent=6)
    assert notifier.pending == 0
    events = [body["event"] for body in received(server) if "event" in body]
    assert events == ["incident.opened", "incident.severity_changed", "incident.resolved"]


async def test_notify_after_exit_is_dropped() -> None:
    """Once closed, nothing is queued that no worker would ever send."""
    async with fake_server() as server:
        async with notifier_for(WebhookTarget(server.url)) as notifier:
            pass
        notifier.notify(event())

    assert server.bodies == []
    assert notifier.stats == NotifierStats(dropped=1)


def test_parse_targets_keeps_each_url_with_its_format() -> None:
    """JSON URLs get the generic body, Slack URLs the Slack one."""
    targets = parse_targets(["http://hooks.local/a"], [" https://hooks.slack.com/services/T/B/x "])
    assert targets == [
        WebhookTarget("http://hooks.local/a", "json"),
        WebhookTarget("https://hooks.slack.com/services/T/B/x", "slack"),
    ]


@pytest.mark.parametrize(
    ("json_urls", "slack_urls", "named"),
    [
        (["ftp://x"], [], "ftp://x"),
        ([], ["not a url"], "not a url"),
        (["http://"], [], "http://"),
        ([], ["hooks.slack.com/services/T/B/s3cret"], "hooks.slack.com/…"),
    ],
)
def test_parse_targets_rejects_what_is_not_an_http_url(
    json_urls: list[str], slack_urls: list[str], named: str
) -> None:
    """ValueError names the bad URL, with any path (a Slack token) cut off."""
    with pytest.raises(ValueError, match="webhook URL") as raised:
        parse_targets(json_urls, slack_urls)
    assert repr(named) in str(raised.value)
    assert "s3cret" not in str(raised.value)
