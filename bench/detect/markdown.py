"""`detect.md` and the README's `benchmark-detect` block, rendered from `detect.json` alone."""

from __future__ import annotations

from typing import Any

ENGINE = "aiops"
CHECK_NAMES = {
    "level_shift": "(a)",
    "daily_quiet": "(b)",
    "drops": "(c)",
    "holdout_score": "(d)",
}


def num(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def share(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _cell(t: dict[str, Any]) -> str:
    return f"**{num(t['score'])}** ({share(t['precision'])} / {share(t['recall'])})"


def score_table(report: dict[str, Any]) -> list[str]:
    """Detectors x splits: score (precision / recall), then the false alarms and the speed."""
    lines = [
        "| detector | holdout: score (precision / recall) | tune | all "
        "| windows detected (all) | false alarms (all) | points/s |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for d in report["detectors"].values():
        s, speed = d["splits"], d["points_per_s"]
        lines.append(
            f"| {d['label']} | {_cell(s['holdout'])} | {_cell(s['tune'])} | {_cell(s['all'])} "
            f"| {s['all']['detected']}/{s['all']['windows']} | {s['all']['false_alarms']:,} "
            f"| {'-' if speed is None else f'{speed:,}'} |"
        )
    return lines


def check_line(key: str, check: dict[str, Any]) -> str:
    verdict = "met" if check["met"] else "**missed**"
    if key == "holdout_score":
        return f"{CHECK_NAMES[key]} {check['what']}: {_score_check(check)} — {verdict}"
    found = f"{check['passed']}/{check['of']}"
    if key == "drops" and check["missed"]:
        found += f"; missed {', '.join(check['missed'])}"
    return f"{CHECK_NAMES[key]} {check['what']}: {found} — {verdict}"


def _score_check(check: dict[str, Any]) -> str:
    ref, tuned = check["best_reference_score"], check["best_tuned_reference_score"]
    found = f"{num(check['score'])} vs best reference "
    found += "-" if ref is None else f"{check['best_reference']} {num(ref)}"
    if check["ratio"] is not None:
        found += f" ({check['ratio']:.1f}x)"
    elif ref is not None:
        found += " (at or below 0: only the 70 counts)"
    if tuned is not None:
        ratio = "" if check["tuned_ratio"] is None else f", {check['tuned_ratio']:.1f}x"
        found += (
            f"; and {check['best_tuned_reference']} at its tune-chosen threshold {num(tuned)}"
            f"{ratio}"
        )
    return found


def _corpus_line(report: dict[str, Any]) -> str:
    c = report["corpus"]
    cpus = report["machine"]["cpus"]
    return (
        f"Written by `{report['command']}` ({report['wall_s']:.0f} s on {cpus} CPUs): "
        f"{c['streams']} labelled metric streams ({c['tune']} tune, {c['holdout']} holdout; "
        f"{len(c['families'])} families, {c['one_minute']} at 1-minute and {c['five_minute']} at "
        f"5-minute steps, {c['days']:,.0f} days, {c['points']:,} points), each scored as "
        "windows alarmed early (100 = every window alarmed at its start, no false alarm; "
        "0 = never alarming; each false alarm costs 0.11 of a window). The engine with its "
        "default settings, next to three references and two of them at their tune-chosen "
        "thresholds (docs/benchmark-detect.md; tables in `bench/results/detect.md`)."
    )


def _engine_lines(report: dict[str, Any]) -> list[str]:
    if report["engine_error"] is None:
        return []
    return ["", f"The engine's detector did not run: {report['engine_error']}."]


def headline(report: dict[str, Any]) -> str:
    """The README headline's row: the engine's holdout score, and the best reference's."""
    c, engine = report["corpus"], report["detectors"][ENGINE]
    holdout, tune = engine["splits"]["holdout"], engine["splits"]["tune"]
    every = engine["splits"]["all"]
    references = [
        (d["splits"]["holdout"]["score"], d["label"])
        for d in report["detectors"].values()
        if d["reference"] and d["splits"]["holdout"]["score"] is not None
    ]
    best, label = max(references) if references else (None, "-")
    return (
        f"| {c['streams']} labelled metric streams ({len(c['families'])} families, "
        f"{c['days']:,.0f} days; {c['holdout']} held out, never tuned on) "
        f"| holdout score **{num(holdout['score'])}** (tune {num(tune['score'])}; 100 = every "
        "window alarmed at its start, 0 = never alarming), precision "
        f"{share(holdout['precision'])}, recall {share(holdout['recall'])}; "
        f"{every['false_alarms']} false alarms in "
        f"{c['days']:,.0f} days; the best reference ({label}) {num(best)} "
        "| `make benchmark-detect` |"
    )


def readme_block(report: dict[str, Any]) -> str:
    """docs/benchmark-detect.md's `benchmark-detect` block."""
    checks = report["checks"].get(ENGINE, {})
    return "\n".join(
        [
            _corpus_line(report),
            "",
            *score_table(report),
            *_engine_lines(report),
            "",
            *(f"- {check_line(key, c)}" for key, c in checks.items()),
        ]
    )


def family_table(report: dict[str, Any]) -> list[str]:
    """Families x detectors: the score (for families with windows) or the false alarms."""
    detectors = report["detectors"]
    names = list(detectors)
    lines = [
        "| family | streams | windows | " + " | ".join(names) + " |",
        "| --- | --- | --- | " + " | ".join("---" for _ in names) + " |",
    ]
    families = report["corpus"]["families"]
    for family in families:
        first = detectors[names[0]]["families"][family]
        cells = []
        for name in names:
            t = detectors[name]["families"][family]
            cells.append(num(t["score"]) if t["windows"] else f"{t['false_alarms']} FA")
        row = [family, str(first["streams"]), str(first["windows"]), *cells]
        lines.append(f"| {' | '.join(row)} |")
    return lines


def detail_table(report: dict[str, Any], name: str) -> list[str]:
    d = report["detectors"][name]
    lines = [
        "| family | windows | detected | onsets | false alarms | precision | recall | score |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for family, t in d["families"].items():
        lines.append(
            f"| {family} | {t['windows']} | {t['detected']} | {t['onsets']} | "
            f"{t['false_alarms']} | {share(t['precision'])} | {share(t['recall'])} | "
            f"{num(t['score'])} |"
        )
    return lines


def check_table(report: dict[str, Any]) -> list[str]:
    keys = ("level_shift", "daily_quiet", "drops")
    lines = ["| detector | (a) level shift over | (b) quiet after a week | (c) drops found |",
             "| --- | --- | --- | --- |"]  # fmt: skip
    for name, found in report["checks"].items():
        cells = [f"{found[k]['passed']}/{found[k]['of']}" for k in keys]
        lines.append(f"| {report['detectors'][name]['label']} | {' | '.join(cells)} |")
    return lines


def stream_table(report: dict[str, Any]) -> list[str]:
    first = next(iter(report["detectors"]), None)
    lines = [
        "| stream | kind | direction | split | step | days | windows | detected "
        "| false alarms | raw |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for s in report["streams"]:
        r = s["results"].get(first)
        if r is None:
            continue
        lines.append(
            f"| {s['id']} | {s['kind']} | {s['direction']} | {s['split']} | {s['step_s']} s | "
            f"{s['days']:.0f} | {r['windows']} | {r['detected']} | {r['false_alarms']} | "
            f"{r['raw']:.2f} |"
        )
    return lines


def markdown(report: dict[str, Any]) -> str:
    """The whole report: scores, families, checks, and every stream for the first detector."""
    first = next(iter(report["detectors"]), None)
    checks = report["checks"].get(ENGINE, {})
    lines = [
        "# Detection benchmark (`make benchmark-detect`)",
        "",
        _corpus_line(report),
        *_engine_lines(report),
        "",
        "## Scores",
        "",
        *score_table(report),
        "",
        "## The checks",
        "",
        *(f"- {check_line(key, c)}" for key, c in checks.items()),
        "",
        *check_table(report),
        "",
        "## By family (score; false alarms (FA) for the families without windows)",
        "",
        *family_table(report),
        "",
    ]
    if first is not None:
        label = report["detectors"][first]["label"]
        lines += [f"## {label} by family", "", *detail_table(report, first), ""]
        lines += [f"## Every stream ({label})", "", *stream_table(report), ""]
    errors = {n: d["errors"] for n, d in report["detectors"].items() if d["errors"]}
    if errors:
        lines += ["## Failures", "", *(f"- {n}: {e}" for n, e in errors.items()), ""]
    return "\n".join(lines)
