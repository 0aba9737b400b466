"""Webhook notifications: incident events POSTed as JSON, generic or Slack-shaped.

`Notifier.notify` is called from the analysis cycle, so it never awaits and
never raises: it renders the body and queues it, one delivery per target.
Background workers POST with a per-attempt timeout and retry what a retry can
fix (transport errors, timeouts, 429, 5xx) with exponential backoff. Whatever
cannot be delivered is counted, never raised.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx

from aiops_engine.incidents.model import EventKind, IncidentEvent

from .render import generic_body, slack_body

logger = logging.getLogger("analyzer.notify")

NOTIFY_ON = frozenset(
    {EventKind.OPENED, EventKind.REOPENED, EventKind.SEVERITY_CHANGED, EventKind.RESOLVED}
)

Format = Literal["json", "slack"]


@dataclass(frozen=True, slots=True)
class WebhookTarget:
    url: str
    format: Format = "json"


_RENDER: dict[Format, Callable[[IncidentEvent], dict[str, Any]]] = {
    "json": generic_body,
    "slack": slack_body,
}

_URL_HEAD = re.compile(r"(?P<scheme>[A-Za-z][\w+.-]*://)?(?:[^/?#@]*@)?(?P<host>[^/?#]*)")


def redact(url: str) -> str:
    """`scheme://host/…`: webhook paths and queries are secrets (Slack's are the token)."""
    head = _URL_HEAD.match(url)
    assert head is not None  # every part of the pattern is optional
    kept = (head["scheme"] or "") + head["host"]
    return kept if head.end() == len(url) else kept + "/…"


def _is_http_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
        port_ok = parts.port is None or parts.port > 0  # .port raises on "host:abc"
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and port_ok


def parse_targets(json_urls: Sequence[str], slack_urls: Sequence[str]) -> list[WebhookTarget]:
    """Targets from configuration; ValueError (naming the URL, redacted) for a non-http(s) one."""
    groups: tuple[tuple[Format, Sequence[str]], ...] = (("json", json_urls), ("slack", slack_urls))
    targets: list[WebhookTarget] = []
    for format_, urls in groups:
        for raw in urls:
            url = raw.strip()
            if not _is_http_url(url):
                raise ValueError(f"not an http(s) {format_} webhook URL: {redact(url)!r}")
            targets.append(WebhookTarget(url, format_))
    return targets


@dataclass
class NotifierStats:
    """Deliveries by outcome; one event to two targets is two deliveries."""

    sent: int = 0
    failed: int = 0  # refused (4xx but 429), or still failing after every retry
    retried: int = 0  # attempts after the first
    dropped: int = 0  # the target's queue was full, or not delivered by shutdown


class Notifier:
    """Deliver incident events to webhooks in the background; `async with` runs the workers.

    One worker and one queue (of `queue_size`) per target: a target that hangs
    or is down only delays and fills its own queue, while the others are
    served as soon as an event comes. Webhook targets are few (a handful of
    URLs from configuration), so a task each costs nothing, and per-target
    order is kept, which a shared pool with a semaphore would not guarantee.
    `notify` before entering queues; delivery starts on entering.
    """

    def __init__(
        self,
        targets: Sequence[WebhookTarget],
        *,
        timeout: float = 5.0,
        retries: int = 3,
        backoff_s: float = 0.5,
        queue_size: int = 1000,
        drain_timeout: float = 5.0,
    ) -> None:
        self.targets = list(targets)
        self.stats = NotifierStats()
        self._timeout = timeout
        self._retries = retries
        self._backoff_s = backoff_s
        self._drain_timeout = drain_timeout
        self._queues: list[asyncio.Queue[bytes]] = [
            asyncio.Queue(maxsize=queue_size) for _ in self.targets
        ]
        self._pending = 0  # queued or in flight
        self._workers: list[asyncio.Task[None]] = []
        self._client: httpx.AsyncClient | None = None
        self._closed = False

    @property
    def pending(self) -> int:
        """Deliveries queued or in flight."""
        return self._pending

    def notify(self, event: IncidentEvent) -> None:
        """Queue `event` for each target if its kind is worth a message. Never blocks or raises."""
        if event.kind not in NOTIFY_ON or not self.targets:
            return
        for target, queue in zip(self.targets, self._queues, strict=True):
            if self._closed:
                self.stats.dropped += 1
                continue
            try:
                body = json.dumps(_RENDER[target.format](event)).encode()
            except Exception:  # a notification must never break the cycle that raised the event
                self.stats.dropped += 1
                logger.exception("could not render the %s notification", event.kind.value)
                continue
            try:
                queue.put_nowait(body)
            except asyncio.QueueFull:
                self.stats.dropped += 1
                logger.warning(
                    "webhook queue for %s is full: dropped %s of %s",
                    redact(target.url),
                    event.kind.value,
                    event.incident.id,
                )
            else:
                self._pending += 1

    async def join(self) -> None:
        """Wait until every queued delivery has been sent or given up on."""
        for queue in self._queues:
            await queue.join()

    async def __aenter__(self) -> Notifier:
        self._client = httpx.AsyncClient(
            timeout=self._timeout, headers={"user-agent": "aiops-analyzer"}
        )
        self._workers = [
            asyncio.create_task(self._work(target, queue), name=f"notify-{index}")
            for index, (target, queue) in enumerate(zip(self.targets, self._queues, strict=True))
        ]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """Deliver what is queued for up to `drain_timeout` seconds, then drop the rest."""
        self._closed = True
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._drain_timeout):
                await self.join()
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers = []
        lost = 0
        for queue in self._queues:
            while not queue.empty():
                queue.get_nowait()
                queue.task_done()
                lost += 1
        self._pending -= lost
        if lost:
            logger.error("%d webhook deliveries were not made before shutdown", lost)
        self.stats.dropped += lost
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _work(self, target: WebhookTarget, queue: asyncio.Queue[bytes]) -> None:
        while True:
            body = await queue.get()
            try:
                await self._deliver(target, body)
            except asyncio.CancelledError:  # shutdown gave up on this one mid-delivery
                self.stats.dropped += 1
                raise
            except Exception:  # a bug must not stop the worker: later events still go out
                self.stats.failed += 1
                logger.exception("webhook delivery to %s failed", redact(target.url))
            finally:
                self._pending -= 1
                queue.task_done()

    async def _deliver(self, target: WebhookTarget, body: bytes) -> None:
        assert self._client is not None
        for attempt in range(self._retries + 1):
            try:
                # httpx's timeout bounds each read; this bounds the whole attempt.
                async with asyncio.timeout(self._timeout):
                    response = await self._client.post(
                        target.url, content=body, headers={"content-type": "application/json"}
                    )
            except (httpx.TransportError, TimeoutError) as exc:
                # The class only: some messages carry the URL, and that is a secret.
                reason = type(exc).__name__
            else:
                status = response.status_code
                if response.is_success:
                    self.stats.sent += 1
                    return
                if status != 429 and status < 500:
                    self.stats.failed += 1
                    logger.warning(
                        "webhook %s refused the notification: HTTP %d (not retried)",
                        redact(target.url),
                        status,
                    )
                    return
                reason = f"HTTP {status}"
            if attempt == self._retries:
                self.stats.failed += 1
                logger.warning(
                    "webhook %s failed after %d attempts: %s",
                    redact(target.url),
                    attempt + 1,
                    reason,
                )
                return
            self.stats.retried += 1
            delay = self._backoff_s * 2**attempt
            logger.info("webhook %s: %s, retrying in %.1fs", redact(target.url), reason, delay)
            await asyncio.sleep(delay)
