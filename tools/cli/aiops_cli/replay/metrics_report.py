"""The metric replay's report: JSON (`--json`, `--report`), a Markdown summary, the terminal's.

It says what the engine found — every alarm (a run of anomalous points: what would have
paged) and every new normal adopted — and, with a truth file, the scorecard of
`make benchmark-detect` per series and overall, with each window's first-alarm delay.
The writers are the span report's (report.py), so both reports read alike.
"""

from __future__ import annotations

from pathlib import Path

from .metrics_document import (
    MetricsReport,
    TallyJson,
    alarm_json,
    new_normal_json,
    scorecard_json,
    series_seen_json,
    settings_json,
)
from .metrics_run import MetricsRun
from .metrics_score import MetricFault, score_all
from .report import fmt_number, fmt_seconds, iso, md_table, write_json

SHOWN_ALARMS = 20  # alarms the terminal lists without a truth file
SCORE_HEADER = ["series", "windows", "detected", "earned", "false alarms", "score", "precision",
                "recall"]  # fmt: skip


def build_report(
    run: MetricsRun, *, source: Path, faults: list[MetricFault] | None
) -> MetricsReport:
    tracks = sorted(run.tracks.values(), key=lambda t: t.series)
    firsts = [t.first_at for t in tracks if t.first_at]
    lasts = [t.last_at for t in tracks if t.last_at]
    began, ended = min(firsts, default=None), max(lasts, default=None)
    notes = [f"--direction {s}: no point of this series in the file" for s in run.unused_directions]
    report: MetricsReport = {
        "source": str(source),
        "format": "metrics-csv",
        "points": run.points,
        "judged": run.judged,
        "rejected": run.refusals.total,
        "rejections": run.refusals.as_list(),
        "refused": dict(run.refused),
        "skipped": run.skipped,
        "started_at": iso(began),
        "ended_at": iso(ended),
        "duration_s": (ended - began).total_seconds() if began and ended else 0.0,
        "wall_s": round(run.wall_s, 3),
        "points_per_s": round(run.points / run.wall_s) if run.wall_s > 0 else None,
        "settings": settings_json(run.config),
        "series": [series_seen_json(t) for t in tracks],
        "alarms": [alarm_json(a) for t in tracks for a in t.alarms],
        "new_normals": [new_normal_json(n) for t in tracks for n in t.new_normals],
        "notes": notes,
    }
    if faults is not None:
        alarms = {t.series: [a.span for a in t.alarms] for t in tracks}
        origins = {t.series: t.first_at for t in tracks if t.first_at}
        scores = score_all(alarms, origins, faults)
        report["scorecard"] = scorecard_json(scores)
        missing = sorted(s.series for s in scores if not s.recorded)
        notes += [
            f"truth: no point of series {s} in the file (its windows missed)" for s in missing
        ]
    return report


def write_report(report: MetricsReport, path: Path) -> None:
    """JSON at `path`, its Markdown summary beside it (`.md`)."""
    write_json(path, report)
    path.with_suffix(".md").write_text(markdown(report), encoding="utf-8")


def markdown(report: MetricsReport) -> str:
    lines = [f"# Metric replay of `{Path(report['source']).name}`", ""]
    lines += md_table(
        ["points", "series", "rejected", "refused", "simulated", "wall", "alarms", "new normals"],
        [[
            str(report["points"]), str(len(report["series"])), str(report["rejected"]),
            str(sum(report["refused"].values())), f"{report['duration_s'] / 3600:.1f} h",
            f"{report['wall_s']:.2f} s", str(len(report["alarms"])),
            str(len(report["new_normals"])),
        ]],
    )  # fmt: skip
    reasons = report["rejections"] + [f"{n} x {why}" for why, n in report["refused"].items()]
    lines += ["", "Not judged:", "", *[f"- {r}" for r in reasons]] if reasons else []
    lines += ["", *[f"- {note}" for note in report["notes"]]] if report["notes"] else []
    if card := report.get("scorecard"):
        per_series = card["per_series"]
        rows = [_score_row("all", card)] + [_score_row(s["series"], s) for s in per_series]
        lines += ["", "## Scorecard", "", *md_table(SCORE_HEADER, rows), ""]
        lines += md_table(
            ["series", "kind", "from", "to", "first alarm after", "earned"],
            [
                [
                    s["series"],
                    w["kind"] or "",
                    w["start"],
                    w["end"],
                    fmt_seconds(w["delay_s"]),
                    f"{w['earned']:.2f}",
                ]
                for s in per_series
                for w in s["per_window"]
            ],
        )
    lines += ["", "## Alarms", ""]
    rows = [[a["series"], a["started_at"], a["ended_at"], f"{a['score']:.6f}", a["explanation"]]
            for a in report["alarms"]]  # fmt: skip
    lines += md_table(["series", "from", "to", "score", "why"], rows) if rows else ["none"]
    lines += ["", "## New normals", ""]
    rows = [[n["series"], n["at"], n["since"], n["explanation"]] for n in report["new_normals"]]
    lines += md_table(["series", "adopted", "since", "why"], rows) if rows else ["none"]
    return "\n".join(lines) + "\n"


def _score_row(name: str, t: TallyJson) -> list[str]:
    return [name, str(t["windows"]), str(t["detected"]), f"{t['earned']:.2f}",
            str(t["false_alarms"]), fmt_number(t["score"]), fmt_number(t["precision"]),
            fmt_number(t["recall"])]  # fmt: skip


def summary(report: MetricsReport, written: Path | None) -> str:
    """What the terminal shows."""
    lines = [
        f"replayed {report['points']} points of {len(report['series'])} series "
        f"({report['duration_s'] / 3600:.1f} h simulated) in {report['wall_s']:.2f} s: "
        f"{len(report['alarms'])} alarms, {len(report['new_normals'])} new normals"
    ]
    refused = sum(report["refused"].values())
    if report["rejected"] or refused or report["skipped"]:
        lines.append(
            f"not judged: {report['rejected']} rows not read, {refused} points refused by the "
            f"engine, {len(report['skipped'])} series failed"
        )
    lines += [f"  {reason}" for reason in report["rejections"]]
    lines += [f"  {n} x {why}" for why, n in report["refused"].items()]
    lines += [f"  {series}: {why}" for series, why in report["skipped"].items()]
    if card := report.get("scorecard"):
        lines.append(
            f"scorecard: {card['detected']}/{card['windows']} windows detected, score "
            f"{fmt_number(card['score'])}, precision {fmt_number(card['precision'])}, recall "
            f"{fmt_number(card['recall'])}, {card['false_alarms']} false alarms, median delay "
            f"{fmt_seconds(card['delay_median_s'])}"
        )
        lines += [
            f"  {s['series']}: {s['detected']}/{s['windows']} detected, score "
            f"{fmt_number(s['score'])}, {s['false_alarms']} false alarms"
            for s in card["per_series"]
        ]
    else:
        lines += [
            f"  {a['started_at']}  {a['series']}  score {a['score']:.6f}  {a['explanation']}"
            for a in report["alarms"][:SHOWN_ALARMS]
        ]
        if len(report["alarms"]) > SHOWN_ALARMS:
            lines.append(f"  ... {len(report['alarms']) - SHOWN_ALARMS} more (--json, --report)")
        lines += [
            f"  new normal {n['at']}  {n['series']}  {n['explanation']}"
            for n in report["new_normals"]
        ]
    lines += report["notes"]
    if written:
        lines.append(f"report: {written} (+ .md)")
    return "\n".join(lines)
