"""What each command prints, as pure functions of the API's answers: easy to read and test."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime

from aiops_api.analyzer import (
    AnalyzerHealth,
    Anomalies,
    AnomalyRecord,
    Dependencies,
    HistoryEntry,
    Incident,
    IncidentDetail,
    Trace,
    TraceSpan,
)
from aiops_engine.incidents.model import AnomalyEvidence

from .render import ago, fields, measure, ms, share, table, target, when

ORIGIN_MARK = "◀ origin"
MAX_ERROR = 80  # characters of a span's error shown beside it; the rest is in PostgreSQL


def incidents(items: Sequence[Incident], status: str | None) -> str:
    if not items:
        return f"no {status} incidents" if status else "no incidents"
    return table(
        ["ID", "STATUS", "SEVERITY", "ROOT CAUSE", "CONFIDENCE", "OPENED (UTC)", "TITLE"],
        (
            [
                i.id,
                i.status,
                i.severity,
                target(i.root_cause.service, i.root_cause.endpoint),
                share(i.confidence),
                when(i.opened_at),
                i.title,
            ]
            for i in items
        ),
    )


def incident(answer: IncidentDetail) -> str:
    """GET /incidents/{id}: the incident, then its history; only the history once expired."""
    found = answer.incident
    history = _history(answer.history)
    if found is None:
        name = answer.history[-1].incident_id if answer.history else "the incident"
        return f"{name} has expired from Redis; its history (PostgreSQL):\n\n{history}"
    cause = target(found.root_cause.service, found.root_cause.endpoint)
    summary = fields(
        [
            ("status", f"{found.status}, severity {found.severity}"),
            ("root cause", f"{cause} (confidence {share(found.confidence)})"),
            ("why", found.explanation),
            ("opened", f"{when(found.opened_at)} UTC"),
            ("updated", f"{when(found.updated_at)} UTC"),
            ("last anomaly", f"{when(found.last_anomaly_at)} UTC"),
            *_closing(found),
            ("services", ", ".join(found.affected_services) or "-"),
            ("endpoints", "\n".join(found.affected_endpoints) or "-"),
        ]
    )
    candidates = table(
        ["SUSPECT", "SCORE", "TRACES", "EVIDENCE"],
        (
            [target(c.service, c.endpoint), share(c.score), c.traces, c.evidence]
            for c in found.candidates
        ),
        indent="  ",
    )
    sections = [
        f"{found.id}  {found.title}",
        summary,
        f"candidates (where the trouble may start, best first)\n{candidates}",
        "anomalies (latest per series and type)\n"
        + ("\n".join(_anomaly_lines(found.anomalies)) or "  -"),
        "sample traces (aiops trace ID)\n"
        + ("\n".join(f"  {t}" for t in found.sample_trace_ids) or "  -"),
        f"history\n{history}",
    ]
    return "\n\n".join(sections)


def _closing(found: Incident) -> list[tuple[str, str]]:
    pairs = []
    if found.acknowledged_at:
        pairs.append(("acknowledged", f"{when(found.acknowledged_at)} UTC"))
    if found.resolved_at:
        why = f": {found.resolution}" if found.resolution else ""
        pairs.append(("resolved", f"{when(found.resolved_at)} UTC by {found.resolved_by}{why}"))
    if found.reopen_count:
        pairs.append(("reopened", f"{found.reopen_count} times"))
    return pairs


def _anomaly_lines(anomalies: Sequence[AnomalyEvidence]) -> Iterator[str]:
    for a in anomalies:
        kind = a.type
        yield (
            f"  {a.key}: {kind}, {measure(kind, a.observed)} "
            f"(baseline {measure(kind, a.baseline)}, threshold {measure(kind, a.threshold)})"
            f", window ending {when(a.window_end)}"
        )
        yield f"    {a.explanation}"


def _history(changes: Sequence[HistoryEntry]) -> str:
    if not changes:
        return "  - (no change recorded yet)"
    return table(
        ["AT (UTC)", "EVENT", "STATUS", "SEVERITY", "DETAIL"],
        ([when(c.at), c.event, c.status, c.severity, c.detail] for c in changes),
        indent="  ",
    )


def transition(found: Incident) -> str:
    """After ack or resolve: the incident's new status, in one line."""
    return f"{found.id} is {found.status}: {found.title}"


def trace(answer: Trace) -> str:
    """GET /traces/{id}: the span tree, indented, with where the trouble starts marked."""
    services = ", ".join(answer.services)
    head = (
        f"trace {answer.trace_id}: {answer.spans} spans across {services}, {ms(answer.duration_ms)}"
    )
    origins = [f"{target(o.service, o.endpoint)} ({_words(o.blame)})" for o in answer.origins]
    verdict = (
        f"trouble starts at {'; '.join(origins)}"
        if origins
        else "no span failed or was slow on its own: nothing to blame"
    )
    rows = [row for root in answer.roots for row in _tree_rows(root, 0)]
    return "\n".join([head, verdict, "", table(["SPAN", "STATUS", "LATENCY", "NOTE"], rows)])


def _tree_rows(node: TraceSpan, depth: int) -> Iterator[list[object]]:
    who = node.service
    if node.kind == "client":
        who = f"{who} → {node.peer_service or '?'}"
    label = f"{'  ' * depth}{who} {node.method} {node.endpoint}"
    status: object = node.status_code if node.status_code is not None else node.error_kind
    if status is None:  # no response: a call that got none failed; a query has no status
        status = "no answer" if node.failed else "ok"
    notes = [f"{ORIGIN_MARK} ({_words(node.origin)})"] if node.origin else []
    if node.error:
        error = node.error
        notes.append(error if len(error) <= MAX_ERROR else error[: MAX_ERROR - 1] + "…")
    yield [label, status, ms(node.latency_ms), "  ".join(notes)]
    for child in node.children:
        yield from _tree_rows(child, depth + 1)


def _words(name: str) -> str:
    """`no_answer` → `no answer`: the API's enum values, as prose."""
    return name.replace("_", " ")


def anomalies(answer: Anomalies, *, active_only: bool) -> str:
    """GET /anomalies: newest first, the active ones marked."""
    active = {_anomaly_id(a) for a in answer.active}
    shown = answer.active if active_only else answer.recent
    if not shown:
        return "no active anomalies" if active_only else "no anomalies in that period"
    return table(
        [
            "WINDOW END (UTC)",
            "ACTIVE",
            "TYPE",
            "KEY",
            "OBSERVED",
            "BASELINE",
            "SCORE",
            "EXPLANATION",
        ],
        (
            [
                when(a.window_end),
                "yes" if _anomaly_id(a) in active else "",
                a.type,
                a.key,
                measure(a.type, a.observed),
                measure(a.type, a.baseline),
                f"{a.score:.2f}",
                a.explanation,
            ]
            for a in shown
        ),
    )


def _anomaly_id(anomaly: AnomalyRecord) -> tuple[str, str, datetime]:
    return (anomaly.type, anomaly.key, anomaly.window_end)


def dependencies(answer: Dependencies) -> str:
    """GET /dependencies: one line per caller → callee edge."""
    if not answer.edges:
        return "no dependencies learned yet: the analyzer learns them from traffic"
    return table(
        ["CALLER → CALLEE", "CALLS", "ERRORS", "ERROR RATE", "LAST SEEN (UTC)"],
        (
            [f"{e.caller} → {e.callee}", e.calls, e.errors, share(e.error_rate), when(e.last_seen)]
            for e in answer.edges
        ),
    )


def health(answer: AnalyzerHealth, now: datetime | None = None) -> str:
    """GET /health: whether cycles run, the replica's role, PostgreSQL and Redis."""
    redis, waiting, database = answer.redis, answer.incident_history, answer.database
    return fields(
        [
            ("status", answer.status),
            ("role", f"{answer.role} ({answer.identity})"),
            ("cycles", answer.cycles),
            ("last cycle", ago(answer.last_cycle_at, now)),
            ("last error", answer.last_error or "none"),
            ("baselines", "-" if answer.baselines is None else answer.baselines),
            ("database", database.status + (f": {database.error}" if database.error else "")),
            ("redis", redis.status + (f": {redis.error}" if redis.error else "")),
            (
                "findings",
                f"{redis.pending_findings} waiting for Redis, {redis.dropped_findings} "
                f"dropped, {redis.failed_findings} failed",
            ),
            ("history", f"{waiting.pending} rows waiting, {waiting.dropped} dropped"),
        ]
    )
