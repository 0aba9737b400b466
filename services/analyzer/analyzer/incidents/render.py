"""Webhook bodies for an incident event: a generic JSON document, and Slack's shape."""

from __future__ import annotations

from typing import Any

from aiops_engine.incidents.model import EventKind, IncidentEvent


def generic_body(event: IncidentEvent) -> dict[str, Any]:
    """The event as a plain JSON document, for any receiver."""
    dumped = event.model_dump(mode="json")  # so `at` is written like the incident's times
    return {
        "event": f"incident.{event.kind.value}",
        "at": dumped["at"],
        "detail": dumped["detail"],
        "incident": dumped["incident"],
    }


_EMOJI = {
    EventKind.OPENED: ":rotating_light:",
    EventKind.REOPENED: ":rotating_light:",
    EventKind.SEVERITY_CHANGED: ":warning:",
    EventKind.RESOLVED: ":white_check_mark:",
}
_SECTION_LIMIT = 3000  # Slack rejects a section whose text is longer
_SAMPLE_TRACES = 3


def _escape(text: str) -> str:
    """Slack reads `&`, `<` and `>` as markup (`<!channel>` pings everyone)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_body(event: IncidentEvent) -> dict[str, Any]:
    """A Slack incoming-webhook message: `text` for notifications, `blocks` for the channel."""
    incident = event.incident
    root = incident.root_cause
    where = f"{root.service} {root.endpoint}" if root.endpoint else root.service
    emoji = _EMOJI.get(event.kind, ":information_source:")
    what = event.kind.value.replace("_", " ")
    text = (
        f"{emoji} {incident.id} {what} ({incident.severity.value}): "
        f"{_escape(where)} — {_escape(incident.explanation)}"
    )
    lines = [
        f"{emoji} *{_escape(incident.title)}*",
        f"`{incident.id}` {_escape(event.detail)}",
        f"*Root cause:* `{_escape(where)}` — {_escape(incident.explanation)}",
        f"*Confidence:* {incident.confidence:.0%}  *Severity:* {incident.severity.value}"
        f"  *Status:* {incident.status.value}",
        f"*Affected services:* {_escape(', '.join(incident.affected_services)) or '—'}",
    ]
    if traces := incident.sample_trace_ids[:_SAMPLE_TRACES]:
        lines.append("*Sample traces:* " + ", ".join(f"`{_escape(t)}`" for t in traces))
    section = "\n".join(lines)
    if len(section) > _SECTION_LIMIT:
        section = section[: _SECTION_LIMIT - 1] + "…"
    return {
        "text": text,
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": section}}],
    }
