"""`aiops COMMAND`: argparse, one handler per command, and the exit status.

Every handler takes the parsed arguments and a client, and returns what to
print; `main` prints it (or the raw JSON with `--json`) and turns a
`CliError` into one line on stderr and exit status 1.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from aiops_api.analyzer import (
    INCIDENTS,
    METRIC_POINTS,
    METRIC_SERIES,
    AnalyzerHealth,
    Anomalies,
    Dependencies,
    Incident,
    IncidentDetail,
    NewNormalRequested,
    Trace,
)

from . import export, metric_views, replay, simulate, views
from .client import Analyzer, CliError

DEFAULT_URL = "http://127.0.0.1:8004"
STATUSES = ("open", "acknowledged", "resolved")


@dataclass(frozen=True, slots=True)
class Output:
    """What a command got (the API's JSON as it came, or a report), how to show it, and its
    exit status."""

    data: object
    text: str
    status: int = 0


Handler = Callable[[argparse.Namespace, Analyzer], Output]


def _incidents(args: argparse.Namespace, api: Analyzer) -> Output:
    answer = api.get("/incidents", INCIDENTS, status=args.status, limit=args.limit)
    return Output(answer.json, views.incidents(answer.value, args.status))


def _incident(args: argparse.Namespace, api: Analyzer) -> Output:
    answer = api.get(f"/incidents/{_segment(args.id)}", IncidentDetail)
    return Output(answer.json, views.incident(answer.value))


def _transition(action: str) -> Handler:
    def handler(args: argparse.Namespace, api: Analyzer) -> Output:
        answer = api.post(f"/incidents/{_segment(args.id)}/{action}", Incident)
        return Output(answer.json, views.transition(answer.value))

    return handler


def _trace(args: argparse.Namespace, api: Analyzer) -> Output:
    answer = api.get(f"/traces/{_segment(args.trace_id)}", Trace)
    return Output(answer.json, views.trace(answer.value))


def _anomalies(args: argparse.Namespace, api: Analyzer) -> Output:
    answer = api.get("/anomalies", Anomalies, minutes=args.minutes, limit=args.limit)
    return Output(answer.json, views.anomalies(answer.value, active_only=args.active))


def _deps(args: argparse.Namespace, api: Analyzer) -> Output:
    answer = api.get("/dependencies", Dependencies)
    return Output(answer.json, views.dependencies(answer.value))


def _metrics(args: argparse.Namespace, api: Analyzer) -> Output:
    answer = api.get("/metric-series", METRIC_SERIES)
    return Output(answer.json, metric_views.metric_series(answer.value))


def _metric_show(args: argparse.Namespace, api: Analyzer) -> Output:
    since = datetime.now(UTC) - timedelta(minutes=args.minutes)
    path = f"/metric-series/{_segment(args.series)}/points"
    answer = api.get(path, METRIC_POINTS, since=since.isoformat(), limit=args.limit)
    return Output(answer.json, metric_views.metric_points(args.series, answer.value))


def _metric_accept(args: argparse.Namespace, api: Analyzer) -> Output:
    answer = api.post(f"/metric-series/{_segment(args.series)}/new-normal", NewNormalRequested)
    return Output(answer.json, metric_views.new_normal(answer.value))


def _health(args: argparse.Namespace, api: Analyzer) -> Output:
    answer = api.get("/health", AnalyzerHealth)
    # Scripts can `aiops health && ...`: a degraded analyzer exits 1, like a failed probe.
    return Output(answer.json, views.health(answer.value), 0 if answer.value.status == "ok" else 1)


def _export(args: argparse.Namespace, api: Analyzer) -> Output:
    return Output(*export.run(args))  # PostgreSQL, not the analyzer's API


def _replay(args: argparse.Namespace, api: Analyzer) -> Output:
    return Output(*replay.replay(args))  # offline: the analyzer is not asked


def _simulate(args: argparse.Namespace, api: Analyzer) -> Output:
    return Output(*simulate.run(args))  # offline: generated, not asked for


def _segment(value: str) -> str:
    """A path segment, escaped: an id with a slash must not reach another endpoint."""
    return quote(value, safe="")


def build_parser(env: Mapping[str, str] | None = None) -> argparse.ArgumentParser:
    """Every command; `env` (default: os.environ) supplies --url's default."""
    env = os.environ if env is None else env
    url = env.get("AIOPS_ANALYZER_URL") or DEFAULT_URL
    parser = argparse.ArgumentParser(
        prog="aiops",
        description="The analyzer's incidents, traces, anomalies and dependency graph.",
    )
    _common_options(parser, url=url)
    # The same options after the command (`aiops incidents --json`); SUPPRESS keeps
    # a subcommand from resetting what was given before it.
    common = argparse.ArgumentParser(add_help=False)
    _common_options(common, url=argparse.SUPPRESS, flag_default=argparse.SUPPRESS)
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)

    def command(name: str, handler: Handler, summary: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, parents=[common], help=summary, description=summary)
        sub.set_defaults(func=handler)
        return sub

    listing = command("incidents", _incidents, "incidents in Redis, newest first")
    listing.add_argument("--status", choices=STATUSES, help="only incidents with this status")
    listing.add_argument("--limit", type=int, default=100, help="at most this many (100)")
    command("incident", _incident, "one incident: root cause, evidence, history").add_argument(
        "id", help="INC-..."
    )
    command("ack", _transition("acknowledge"), "acknowledge an incident").add_argument(
        "id", help="INC-..."
    )
    command("resolve", _transition("resolve"), "resolve an incident").add_argument(
        "id", help="INC-..."
    )
    command("trace", _trace, "a trace as a tree, with where its trouble starts").add_argument(
        "trace_id", help="a trace id (X-Trace-Id), e.g. from `aiops incident`"
    )
    recent = command("anomalies", _anomalies, "anomalies, newest first, active ones marked")
    recent.add_argument("--minutes", type=float, default=60, help="how far back (60)")
    recent.add_argument("--limit", type=int, default=100, help="at most this many (100)")
    recent.add_argument("--active", action="store_true", help="only the active ones")
    command("deps", _deps, "the learned dependency graph: caller → callee, calls, errors")
    series = command("metrics", _metrics, "metric series watched, with their last point")
    actions = series.add_subparsers(title="actions", metavar="ACTION")
    show = actions.add_parser(
        "show", parents=[common], help="a series' recent points against their normal band"
    )
    show.set_defaults(func=_metric_show)
    show.add_argument("series", help="the series, as `aiops metrics` lists it")
    show.add_argument("--minutes", type=float, default=60, help="how far back (60)")
    show.add_argument("--limit", type=int, default=30, help="at most the newest this many (30)")
    accept = actions.add_parser(
        "accept", parents=[common], help="accept a series' current level as its new normal"
    )
    accept.set_defaults(func=_metric_accept)
    accept.add_argument("series", help="the series, as `aiops metrics` lists it")
    command("health", _health, "the analyzer's health; exit 1 when degraded")
    replay.add_arguments(
        command("replay", _replay, "recorded spans, or metric points, through the engine")
    )
    export.add_arguments(command("export", _export, export.SUMMARY))
    simulate.add_arguments(command("simulate", _simulate, simulate.SUMMARY))
    return parser


def _common_options(
    parser: argparse.ArgumentParser, *, url: str, flag_default: object = False
) -> None:
    parser.add_argument(
        "--url",
        default=url,
        help=f"the analyzer's URL ($AIOPS_ANALYZER_URL, else {DEFAULT_URL})",
    )
    parser.add_argument(
        "--json", action="store_true", default=flag_default, help="print the API's raw JSON"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; its exit status (0 ok, 1 failed, 2 bad usage)."""
    args = build_parser().parse_args(argv)
    handler: Handler = args.func
    try:
        with Analyzer(args.url) as api:
            output = handler(args, api)
    except CliError as exc:
        print(f"aiops: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    if args.json:
        print(json.dumps(output.data, indent=2, ensure_ascii=False))
    else:
        print(output.text)
    return output.status
