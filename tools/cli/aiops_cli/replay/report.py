"""The replay report: JSON, a Markdown summary and a timeline PNG next to it."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from pydantic import TypeAdapter

from aiops_engine.detection import Anomaly
from aiops_engine.replay import Fault, Scorecard, score

from .document import AnomalyJson, ReplayReport, ScorecardJson, report_json
from .options import settings_json
from .run import ReplayRun

TIMELINE_ENDPOINTS = 8  # the busiest endpoints (and every faulty service's) get a line
MAX_MARKS = 12  # incident openings marked on the timeline


_MOMENT = TypeAdapter(datetime)


def build_report(
    run: ReplayRun, *, source: Path, fmt: str, faults: Sequence[Fault] | None, grace_s: float
) -> ReplayReport:
    replay, counts = run.replay, run.replay.counts
    report: ReplayReport = {
        "source": str(source),
        "format": fmt,
        "spans": counts.spans,
        "rejected": run.rejections.spans + run.rejections.lines,
        "rejected_lines": run.rejections.lines,
        "rejections": run.rejections.as_list(),
        "late_spans": counts.late,
        "unjudged_spans": counts.unjudged,
        "keys_skipped": counts.keys_skipped,
        "started_at": iso(counts.first_at),
        "ended_at": iso(counts.last_at),
        "duration_s": round(counts.duration_s, 3),
        "wall_s": round(run.wall_s, 3),
        "spans_per_s": round(counts.spans / run.wall_s) if run.wall_s > 0 else None,
        "windows": counts.windows,
        "settings": settings_json(replay.config),
        "anomalies": [_anomaly(a) for a in run.collected.anomalies],
        "incidents": list(replay.incidents),
    }
    if faults is not None:
        card = score(faults, run.collected.touches, duration_s=counts.duration_s, grace_s=grace_s)
        report["scorecard"] = _scorecard(card)
    return report


def _anomaly(a: Anomaly) -> AnomalyJson:
    return {
        "type": a.type.value,
        "kind": a.key.kind.value,
        "service": a.key.service,
        "target": a.key.target,
        "observed": a.observed,
        "baseline": a.baseline,
        "threshold": a.threshold,
        "score": round(a.score, 4),
        "window_start": iso(a.window_start),
        "window_end": iso(a.window_end),
        "sample_count": a.sample_count,
        "sample_trace_ids": list(a.sample_trace_ids),
        "explanation": a.explanation,
    }


def _scorecard(card: Scorecard) -> ScorecardJson:
    per_hour = card.false_incidents_per_hour
    return {
        "faults": card.faults,
        "detected": card.detected,
        "ac_at_1": round(card.ac_at_1, 4),
        "ac_at_3": round(card.ac_at_3, 4),
        "avg_at_5": round(card.avg_at_5, 4),
        "ttd_median_s": card.ttd_median_s,
        "false_incidents": card.false_incidents,
        "false_incidents_per_hour": None if per_hour is None else round(per_hour, 4),
        "grace_s": card.grace_s,
        "per_fault": [
            {
                "start": s.fault.start.isoformat(),
                "end": s.fault.end.isoformat(),
                "service": s.fault.service,
                "endpoint": s.fault.endpoint,
                "kind": s.fault.kind,
                "detected_at": iso(s.detected_at),
                "ttd_s": s.ttd_s,
                "rank": s.rank,
                "incidents": list(s.incident_ids),
            }
            for s in card.per_fault
        ],
    }


def _stamp(moment: datetime) -> str:
    """A time as the report's JSON writes an incident's (pydantic's ISO 8601, `Z` for UTC)."""
    text: str = _MOMENT.dump_python(moment, mode="json")
    return text


def iso(moment: datetime | None) -> str | None:
    """A time as the report writes it (ISO 8601), or None."""
    return moment.isoformat() if moment else None


def write_report(report: ReplayReport, run: ReplayRun, path: Path) -> list[str]:
    """JSON at `path`, Markdown and PNG beside it; notes on what could not be written."""
    notes = []
    write_json(path, report_json(report))
    png = path.with_suffix(".png")
    try:
        draw_png(report, run, png)
    except RuntimeError as exc:  # no matplotlib: the report stands without its picture
        notes.append(f"timeline skipped: {exc}")
        png_name = None
    else:
        png_name = png.name
    path.with_suffix(".md").write_text(markdown(report, png_name), encoding="utf-8")
    return notes


def write_json(path: Path, data: object) -> None:
    """`data` as indented JSON at `path`, its folder made first (a report's main file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(data, indent=2, ensure_ascii=False)
    path.write_text(text + "\n", encoding="utf-8")


def draw_png(report: ReplayReport, run: ReplayRun, path: Path) -> None:
    from aiops_chaos.timeline import Timeline, draw  # matplotlib is imported on use only

    counts = run.replay.counts
    if counts.first_at is None:
        raise RuntimeError("no spans to draw")
    samples = run.collected.samples
    busiest = Counter[str]()
    for sample in samples:
        busiest[sample.endpoint] += sample.requests
    shown = {name for name, _ in busiest.most_common(TIMELINE_ENDPOINTS)}
    card = report.get("scorecard")
    faults = card["per_fault"] if card else []
    faulty = {f["service"] for f in faults}
    shown |= {name for name in busiest if name.split(" ", 1)[0] in faulty}
    opened = [t for t in run.collected.touches if t.opened][:MAX_MARKS]
    timeline = Timeline(
        title=f"replay of {Path(report['source']).name}",
        started_at=counts.first_at,
        samples=[s for s in samples if s.endpoint in shown],
        faults=[
            (datetime.fromisoformat(f["start"]), datetime.fromisoformat(f["end"])) for f in faults
        ],
        detections=[(t.at, f"{t.incident.id[-4:]}: {t.incident.root_cause}") for t in opened],
        gap_s=1.5 * run.replay.config.window_s,
    )
    draw(timeline, path)


def markdown(report: ReplayReport, png: str | None) -> str:
    lines = [f"# Replay of `{Path(report['source']).name}`", ""]
    lines += md_table(
        ["spans", "rejected", "late", "simulated", "wall", "spans/s", "anomalies", "incidents"],
        [
            [
                str(report["spans"]),
                str(report["rejected"]),
                str(report["late_spans"]),
                f"{report['duration_s']:.0f} s",
                f"{report['wall_s']:.2f} s",
                str(report["spans_per_s"]),
                str(len(report["anomalies"])),
                str(len(report["incidents"])),
            ]
        ],
    )
    if report["rejections"]:
        lines += ["", "Rejected input (first of each reason):", ""]
        lines += [f"- {reason}" for reason in report["rejections"]]
    if card := report.get("scorecard"):
        lines += ["", "## Scorecard", ""]
        lines += md_table(
            ["faults", "detected", "AC@1", "AC@3", "Avg@5", "TTD median", "false", "per hour"],
            [
                [
                    str(card["faults"]),
                    str(card["detected"]),
                    f"{card['ac_at_1']:.2f}",
                    f"{card['ac_at_3']:.2f}",
                    f"{card['avg_at_5']:.2f}",
                    fmt_seconds(card["ttd_median_s"]),
                    str(card["false_incidents"]),
                    fmt_number(card["false_incidents_per_hour"]),
                ]
            ],
        )
        lines += ["", f"Fault windows include a {card['grace_s']:.0f} s grace period.", ""]
        lines += md_table(
            ["fault", "from", "to", "detected after", "service rank", "incidents"],
            [
                [
                    f"{f['service']} {f['endpoint'] or ''} {f['kind'] or ''}".strip(),
                    f["start"],
                    f["end"],
                    fmt_seconds(f["ttd_s"]),
                    str(f["rank"] or "—"),
                    ", ".join(f["incidents"]) or "—",
                ]
                for f in card["per_fault"]
            ],
        )
    lines += ["", "## Incidents", ""]
    rows = [
        [
            i.id,
            _stamp(i.opened_at),
            str(i.status),
            f"{i.root_cause.service} {i.root_cause.endpoint or ''}".strip(),
            ", ".join(f"{c.service} ({c.score:.2f})" for c in i.candidates[:3]),
        ]
        for i in report["incidents"]
    ]
    header = ["id", "opened", "status", "root cause", "top candidates"]
    lines += md_table(header, rows) if rows else ["none"]
    if png:
        lines += ["", f"![timeline]({png})"]
    return "\n".join(lines) + "\n"


def summary(report: ReplayReport, written: Path | None, notes: Sequence[str]) -> str:
    """What the terminal shows."""
    lines = [
        f"replayed {report['spans']} spans ({report['duration_s']:.0f} s simulated) in "
        f"{report['wall_s']:.2f} s: {len(report['anomalies'])} anomalies, "
        f"{len(report['incidents'])} incidents"
    ]
    if report["rejected"] or report["late_spans"]:
        lines.append(f"rejected {report['rejected']}, late {report['late_spans']} (not analysed)")
    lines += [f"  rejected at {reason}" for reason in report["rejections"][:3]]
    for i in report["incidents"]:
        cause = f"{i.root_cause.service} {i.root_cause.endpoint or ''}".strip()
        lines.append(f"  {i.id}  {_stamp(i.opened_at)}  {i.status:<8}  root cause {cause}")
    if card := report.get("scorecard"):
        lines.append(
            f"scorecard: {card['detected']}/{card['faults']} detected, AC@1 {card['ac_at_1']:.2f}, "
            f"AC@3 {card['ac_at_3']:.2f}, Avg@5 {card['avg_at_5']:.2f}, "
            f"TTD median {fmt_seconds(card['ttd_median_s'])}, "
            f"{card['false_incidents']} false incidents"
        )
    if report["late_spans"] > report["spans"] // 100:
        lines.append("many late spans: is the file in time order? --sort orders it in memory")
    lines += list(notes)
    if written:
        lines.append(f"report: {written} (+ .md, .png)")
    return "\n".join(lines)


def md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    """A Markdown table's lines, `|` in a cell escaped."""
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    escaped = [[cell.replace("|", "\\|") for cell in row] for row in rows]
    return out + ["| " + " | ".join(row) + " |" for row in escaped]


def fmt_seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} s"


def fmt_number(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"
