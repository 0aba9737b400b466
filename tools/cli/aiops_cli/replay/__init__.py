"""`aiops replay PATH`: recorded spans through the analyzer's engine, offline, with a scorecard.

No stack, no database: the engine's own detection, RCA and incident rules
run in the recording's simulated time (aiops_engine.replay). docs/replay.md
describes the formats, the column mapping, the truth file and the report.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from aiops_cli.client import CliError

from .csv_spans import FIELDS, UNITS
from .document import report_json
from .options import add_engine_options, load_truth, non_negative, positive, replay_config
from .report import build_report, summary, write_report
from .run import detect_format, run_replay

__all__ = ["add_arguments", "replay"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", type=Path, help="OTLP JSON lines or span CSV, gzip or plain")
    parser.add_argument("--truth", type=Path, help="JSON list of known faults: adds a scorecard")
    parser.add_argument("--report", type=Path, help="write the JSON report here (+ .md, .png)")
    parser.add_argument("--window", type=positive, default=5.0, help="analysis window, seconds (5)")
    parser.add_argument(
        "--format", choices=("otlp", "csv"), help="input format (default: by the file name)"
    )
    parser.add_argument(
        "--columns",
        help=f"CSV column per field: field=Column,... (fields: {', '.join(FIELDS)})",
    )
    parser.add_argument(
        "--duration-unit",
        choices=tuple(UNITS),
        help="unit of a CSV duration column (default: that of the start times; ms for ISO)",
    )
    parser.add_argument(
        "--sort", action="store_true", help="sort the spans by start time first (in memory)"
    )
    parser.add_argument(
        "--grace", type=non_negative, default=60.0, help="seconds after a fault still its own (60)"
    )
    parser.add_argument(
        "--ingest-lag",
        type=non_negative,
        default=3.0,
        help="seconds between a window's end and its verdict, as in the analyzer (3)",
    )
    parser.add_argument(
        "--clock-slack",
        type=non_negative,
        default=2.0,
        help="seconds a call's server span may start past its window (2)",
    )
    parser.add_argument(
        "--max-disorder",
        type=non_negative,
        default=30.0,
        help="seconds a span may arrive behind the newest and still count (30)",
    )
    add_engine_options(parser)


def replay(args: argparse.Namespace) -> tuple[object, str]:
    """Run it: the report (for --json) and the summary to print."""
    config = replay_config(args)
    faults = load_truth(args.truth) if args.truth else None
    fmt = detect_format(args.path, args.format)
    run = run_replay(
        args.path,
        config,
        fmt=fmt,
        columns=args.columns,
        duration_unit=args.duration_unit,
        sort=args.sort,
    )
    if run.replay.counts.spans == 0:
        reasons = "; ".join(run.rejections.as_list()) or "the file holds none"
        raise CliError(f"no spans in {args.path}: {reasons}")
    report = build_report(run, source=args.path, fmt=fmt, faults=faults, grace_s=args.grace)
    notes: list[str] = []
    if args.report:
        try:
            notes = write_report(report, run, args.report)
        except OSError as exc:
            raise CliError(f"cannot write {args.report}: {exc.strerror or exc}") from None
    return report_json(report), summary(report, args.report, notes)
