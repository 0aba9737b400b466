"""`aiops replay PATH`: recorded spans through the analyzer's engine, offline, with a scorecard.

No stack, no database: the engine's own detection, RCA and incident rules
run in the recording's simulated time (aiops_engine.replay). With `--metrics`,
PATH holds metric points instead (`timestamp,series,value`), judged by the
engine's metric detector (aiops_engine.metrics.watch) and scored as
`make benchmark-detect` scores it. docs/replay.md describes the formats, the
column mapping, the truth files and the reports.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from aiops_cli.client import CliError

from . import metrics_csv, metrics_report
from .columns import UNITS
from .csv_spans import FIELDS
from .document import report_json
from .metrics_run import add_metric_arguments, metric_config, parse_directions, run_metrics
from .metrics_score import load_metric_truth
from .options import add_engine_options, load_truth, non_negative, positive, replay_config
from .report import build_report, summary, write_report
from .run import detect_format, run_replay

__all__ = ["add_arguments", "replay"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "path", type=Path,
        help="OTLP JSON lines or span CSV (with --metrics: metric points CSV), gzip or plain",
    )  # fmt: skip
    parser.add_argument(
        "--metrics", action="store_true",
        help="PATH holds metric points (timestamp,series,value), judged by the metric detector",
    )  # fmt: skip
    parser.add_argument("--truth", type=Path, help="JSON list of known faults: adds a scorecard")
    parser.add_argument(
        "--report", type=Path, help="write the JSON report here (+ .md; + .png for spans)"
    )
    parser.add_argument(
        "--columns",
        help=f"CSV column per field: field=Column,... (span fields: {', '.join(FIELDS)}; "
        f"with --metrics: {', '.join(metrics_csv.FIELDS)})",
    )
    parser.add_argument(
        "--sort", action="store_true", help="sort the spans or points by time first (in memory)"
    )
    spans = parser.add_argument_group("spans (without --metrics)")
    span_only = [
        spans.add_argument(
            "--window", type=positive, default=5.0, help="analysis window, seconds (5)"
        ),
        spans.add_argument(
            "--format", choices=("otlp", "csv"), help="input format (default: by the file name)"
        ),
        spans.add_argument(
            "--duration-unit",
            choices=tuple(UNITS),
            help="unit of a CSV duration column (default: that of the start times; ms for ISO)",
        ),
        spans.add_argument(
            "--grace",
            type=non_negative,
            default=60.0,
            help="seconds after a fault still its own (60)",
        ),
        spans.add_argument(
            "--ingest-lag",
            type=non_negative,
            default=3.0,
            help="seconds between a window's end and its verdict, as in the analyzer (3)",
        ),
        spans.add_argument(
            "--clock-slack",
            type=non_negative,
            default=2.0,
            help="seconds a call's server span may start past its window (2)",
        ),
        spans.add_argument(
            "--max-disorder",
            type=non_negative,
            default=30.0,
            help="seconds a span may arrive behind the newest and still count (30)",
        ),
    ]
    # What `--metrics` checks was left alone: (flag, default) by destination.
    parser.set_defaults(span_only={a.dest: (a.option_strings[0], a.default) for a in span_only})
    add_metric_arguments(parser)
    add_engine_options(parser)


def replay(args: argparse.Namespace) -> tuple[object, str]:
    """Run it: the report (for --json) and the summary to print."""
    if args.metrics:
        return replay_metrics(args)
    metric_options = [
        flag for flag, given in (("--direction", args.direction), ("--p-value", args.p_value),
                                 ("--new-normal-after", args.new_normal_after)) if given
    ]  # fmt: skip
    if metric_options:
        raise CliError(f"replay: {', '.join(metric_options)} applies to --metrics only")
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


def replay_metrics(args: argparse.Namespace) -> tuple[object, str]:
    """`aiops replay PATH --metrics`: the points through the engine's metric detector."""
    span_options = [
        flag for dest, (flag, default) in args.span_only.items() if getattr(args, dest) != default
    ] + [
        f"--{name.removeprefix('engine_').replace('_', '-')}"
        for name, value in sorted(vars(args).items())
        if name.startswith("engine_") and value is not None
    ]
    if span_options:
        raise CliError(f"replay --metrics: {', '.join(span_options)} applies to spans only")
    config = metric_config(args)
    directions = parse_directions(args.direction)
    faults = load_metric_truth(args.truth) if args.truth else None
    run = run_metrics(
        args.path, config, columns=args.columns, directions=directions, sort=args.sort
    )
    if run.points == 0:
        reasons = "; ".join(run.refusals.as_list()) or "the file holds none"
        raise CliError(f"no metric points in {args.path}: {reasons}")
    report = metrics_report.build_report(run, source=args.path, faults=faults)
    if args.report:
        try:
            metrics_report.write_report(report, args.report)
        except OSError as exc:
            raise CliError(f"cannot write {args.report}: {exc.strerror or exc}") from None
    return report, metrics_report.summary(report, args.report)
