"""`detect.json`: everything a run found (`report_json`), written whole or not at all; the
Markdown and the README's block are rendered from it alone (markdown.py)."""

from __future__ import annotations

import json
import os
import platform
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiops_engine.metrics.scorecard import FALSE_ALARM_COST, LEAD_S

from .run import StreamResult
from .summary import summarise


@dataclass(frozen=True, slots=True)
class Meta:
    """How the run went: what was asked, how long it took, what could not run."""

    command: str
    wall_s: float
    workers: int
    full: bool  # the whole corpus, unfiltered
    detectors: tuple[str, ...]
    engine_error: str | None = None  # why the engine's detector was left out, if it was


def _stream_json(r: StreamResult, detectors: Sequence[str]) -> dict[str, Any]:
    """One stream: what it is, and each detector's result on it (the windows, for the first)."""
    first = detectors[0] if detectors else None
    found: dict[str, Any] = {
        "id": r.entry.id,
        "family": r.entry.family,
        "kind": r.kind,
        "direction": r.direction,
        "split": r.entry.split,
        "seed": r.entry.seed,
        "step_s": r.entry.step_s,
        "days": r.days,
        "points": r.points,
        "results": {},
    }
    for name in detectors:
        outcome = r.outcomes.get(name)
        if outcome is None:
            continue
        score = outcome.score
        row: dict[str, Any] = {
            "windows": len(score.windows),
            "detected": score.detected,
            "false_alarms": score.false_alarms,
            "late_alarms": outcome.late_onsets,
            "raw": round(score.raw, 4),
            "error": outcome.error,
        }
        if name == first:
            row["window_results"] = [
                {
                    "kind": w.window.kind,
                    "sign": w.window.sign,
                    "start_s": w.window.start,
                    "end_s": w.window.end,
                    "detected_at_s": w.detected_at,
                    "earned": round(w.earned, 4),
                    "alarm_end_s": w.run_end,
                    "on_after": w.on_after,
                }
                for w in score.windows
            ]
        found["results"][name] = row
    return found


def report_json(results: Sequence[StreamResult], meta: Meta) -> dict[str, Any]:
    summary = summarise(results, meta.detectors)
    return {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": meta.command,
        "wall_s": round(meta.wall_s, 1),
        "workers": meta.workers,
        "full_corpus": meta.full,
        "machine": {
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
            "platform": platform.platform(),
        },
        "scoring": {
            "false_alarm_cost": FALSE_ALARM_COST,
            "lead_s": LEAD_S,
            "window_earns": "1 - 0.5 * (t - start) / (end - start); -1 if missed",
            "normalised": "100 * (raw + W) / (2 W): never alarming 0, perfect 100",
        },
        "engine_error": meta.engine_error,
        "corpus": {
            "streams": len(results),
            "tune": sum(r.entry.split == "tune" for r in results),
            "holdout": sum(r.entry.split == "holdout" for r in results),
            "points": sum(r.points for r in results),
            "days": round(sum(r.days for r in results), 1),
            "families": sorted({r.entry.family for r in results}),
            "one_minute": sum(r.entry.step_s == 60 for r in results),
            "five_minute": sum(r.entry.step_s == 300 for r in results),
        },
        **summary,
        "streams": [_stream_json(r, meta.detectors) for r in results],
    }


def write_json(path: Path, payload: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
    tmp.replace(path)  # a reader never sees half a report


def load(path: Path) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return found
