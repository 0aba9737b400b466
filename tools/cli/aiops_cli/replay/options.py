"""`aiops replay`'s options: every engine knob, derived from the engine's own config classes.

Each field of DetectionConfig, RcaConfig and IncidentPolicy becomes an
option (`min_windows` → `--min-windows`), with its default, so a new knob
in the engine is a new option here without an edit. A field two classes
share (`correlation_window_s`) is one option setting both, as the
analyzer's settings do. The analyzer's own names (AIOPS_BASELINE_MIN_WINDOWS
→ `--baseline-min-windows`, ...) are accepted as aliases.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypedDict

from aiops_cli.client import CliError
from aiops_engine.detection import DetectionConfig
from aiops_engine.incidents import IncidentPolicy
from aiops_engine.rca import RcaConfig
from aiops_engine.replay import Fault, ReplayConfig

CONFIGS: tuple[type[Any], ...] = (DetectionConfig, RcaConfig, IncidentPolicy)
# Set by --window rather than on their own: the window is the analysis interval.
DERIVED = {"window_seconds"}
# AnalyzerSettings' names (the AIOPS_* variables) where they differ from the engine's.
ALIASES = {
    "min_windows": "baseline_min_windows",
    "correlation_window_s": "correlation_window",
    "resolve_after_s": "resolve_after",
}
TYPES = {"float": float, "int": int}


def _knobs() -> dict[str, tuple[type, Any, str]]:
    """field name -> (type, default, the classes that have it)."""
    knobs: dict[str, tuple[type, Any, str]] = {}
    for config in CONFIGS:
        for f in dataclasses.fields(config):
            if f.name in DERIVED:
                continue
            kind = TYPES[f.type if isinstance(f.type, str) else f.type.__name__]
            owners = knobs[f.name][2] + ", " if f.name in knobs else ""
            knobs[f.name] = (kind, f.default, owners + config.__name__)
    return knobs


def add_engine_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("analyzer settings (defaults as the analyzer's)")
    for name, (kind, default, owners) in sorted(_knobs().items()):
        flags = [f"--{name.replace('_', '-')}"]
        if name in ALIASES:
            flags.append(f"--{ALIASES[name].replace('_', '-')}")
        group.add_argument(
            *flags,
            dest=f"engine_{name}",
            type=kind,
            default=None,
            metavar=kind.__name__.upper(),
            help=f"{owners}.{name} ({default})",
        )


def replay_config(args: argparse.Namespace) -> ReplayConfig:
    """The engine's configs from the options given; a bad value is a CliError naming it."""
    given = {
        name: value
        for name in _knobs()
        if (value := getattr(args, f"engine_{name}", None)) is not None
    }
    try:
        built = [
            config(**{f.name: given[f.name] for f in dataclasses.fields(config) if f.name in given})
            for config in CONFIGS
        ]
        return ReplayConfig(
            detection=built[0],
            rca=built[1],
            policy=built[2],
            window_s=args.window,
            ingest_lag_s=args.ingest_lag,
            clock_slack_s=args.clock_slack,
            max_disorder_s=args.max_disorder,
        )
    except ValueError as exc:
        raise CliError(f"settings: {exc}") from None


class Settings(TypedDict):
    """What a report was made with (engine settings by their field names)."""

    window_s: float
    ingest_lag_s: float
    clock_slack_s: float
    max_disorder_s: float
    detection: dict[str, object]
    rca: dict[str, object]
    incidents: dict[str, object]


def settings_json(config: ReplayConfig) -> Settings:
    """The settings a report was made with, so it can be reproduced."""
    return {
        "window_s": config.window_s,
        "ingest_lag_s": config.ingest_lag_s,
        "clock_slack_s": config.clock_slack_s,
        "max_disorder_s": config.max_disorder_s,
        "detection": dataclasses.asdict(config.detection),
        "rca": dataclasses.asdict(config.rca),
        "incidents": dataclasses.asdict(config.policy),
    }


def load_truth(path: Path) -> list[Fault]:
    """A JSON list of {start, end, service, endpoint?, kind?}; times ISO 8601 or Unix seconds."""
    return [_fault(path, n, entry) for n, entry in enumerate(truth_entries(path))]


def truth_entries(path: Path) -> list[Any]:
    """A truth file's JSON list, each entry still to check; a CliError saying what is wrong."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CliError(f"cannot read the truth file {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise CliError(f"truth file {path}: not JSON ({exc})") from None
    if not isinstance(raw, list):
        raise CliError(f"truth file {path}: expected a JSON list of faults")
    return raw


def _fault(path: Path, n: int, entry: Any) -> Fault:
    where = f"truth file {path}, fault {n}"
    if not isinstance(entry, dict):
        raise CliError(f"{where}: not a JSON object")
    service = entry.get("service")
    if not isinstance(service, str) or not service:
        raise CliError(f"{where}: 'service' must be a non-empty string")
    start, end = truth_moment(where, entry, "start"), truth_moment(where, entry, "end")
    if end < start:
        raise CliError(f"{where}: 'end' is before 'start'")
    optional = {k: entry.get(k) for k in ("endpoint", "kind")}
    for key, value in optional.items():
        if value is not None and not isinstance(value, str):
            raise CliError(f"{where}: '{key}' must be a string")
    return Fault(start, end, service, optional["endpoint"], optional["kind"])


def truth_moment(where: str, entry: dict[str, Any], key: str) -> datetime:
    """`entry[key]` as a moment (ISO 8601, no zone: UTC; or Unix seconds), else a CliError."""
    value = entry.get(key)
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return datetime.fromtimestamp(value, UTC)
        if isinstance(value, str):
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    except (ValueError, OverflowError, OSError):
        pass
    raise CliError(f"{where}: '{key}' must be ISO 8601 or Unix seconds, not {value!r}")


def positive(text: str) -> float:
    """argparse type: a finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text} must be > 0")
    return value


def non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text} must be >= 0")
    return value
