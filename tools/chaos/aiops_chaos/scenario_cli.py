"""`list` and `run NAME`: the scenarios in `scenarios/`, and playing one against the stack.

Registered by `add_scenario_commands(subparsers)`; each command's `func`
returns the exit status: 0 when the run passed, 1 when it did not (or the
stack could not run it), 2 for a bad scenario name or file.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import textwrap
from pathlib import Path

from ._types import Subparsers, stamped_log
from .runner import RunOptions, run_scenario
from .scenarios import Scenario, ScenarioError, load_all
from .scoring import passed
from .stack import Stack, StackError, StackSettings
from .stack_settings import find_repo_root

DESCRIPTION_WIDTH = 100  # columns the descriptions are wrapped to


def add_scenario_commands(subparsers: Subparsers) -> None:
    """`list` and `run NAME`."""
    listing = subparsers.add_parser(
        "list",
        help="list the chaos scenarios: faults, expected root cause, description",
        description="The declarative scenarios in scenarios/*.toml, validated.",
    )
    _folder_option(listing)
    listing.set_defaults(func=list_command)

    run = subparsers.add_parser(
        "run",
        help="run one scenario against the running stack and score the analyzer",
        description=(
            "Traffic, a quiet start (open incidents resolved), a warm-up, the scenario's faults, "
            "then clean-up and the score. Needs the stack up (`make up`) and its "
            "chaos token (AIOPS_CHAOS_TOKEN, else the one it generated). Exit 0 when the fault "
            "was detected and its root cause named first (for the control: when no incident "
            "opened), else 1."
        ),
    )
    run.add_argument("name", help="a scenario's name (see `list`)")
    run.add_argument(
        "--full",
        action="store_true",
        help="observe the whole period even once every expected cause is named",
    )
    _folder_option(run)
    run.set_defaults(func=run_command)


def _folder_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--scenarios",
        type=Path,
        default=None,
        metavar="DIR",
        help="the folder of scenario files (default: scenarios/ of the repository)",
    )


def list_command(args: argparse.Namespace) -> int:
    scenarios = _load(args)
    if scenarios is None:
        return 2
    print(scenario_table(scenarios))
    return 0


def run_command(args: argparse.Namespace) -> int:
    scenarios = _load(args)
    if scenarios is None:
        return 2
    chosen = next((s for s in scenarios if s.name == args.name), None)
    if chosen is None:
        known = ", ".join(s.name for s in scenarios)
        print(f"run: no scenario {args.name!r}; known: {known}", file=sys.stderr)
        return 2
    try:
        settings = StackSettings.from_env(find_repo_root())
        settings.require_chaos_token()  # say so now, before any traffic
        return asyncio.run(_play(settings, chosen, RunOptions(stop_early=not args.full)))
    except StackError as exc:
        print(f"run: {exc}", file=sys.stderr)
        return 1


async def _play(settings: StackSettings, scenario: Scenario, options: RunOptions) -> int:
    async with Stack(settings) as stack:
        result = await run_scenario(stack, scenario, log=stamped_log, options=options)
    return 0 if passed(result) else 1


def _load(args: argparse.Namespace) -> list[Scenario] | None:
    try:
        folder = args.scenarios or find_repo_root() / "scenarios"
        return load_all(folder)
    except (ScenarioError, StackError) as exc:
        print(f"{exc}", file=sys.stderr)
        return None


def scenario_table(scenarios: list[Scenario]) -> str:
    """Name, faults (one a line) and expected root cause, with the description beneath."""
    header = ("scenario", "faults", "expected root cause")
    rows = [
        (s.name, s.fault_lines() or ["none"],
         (", ".join(map(str, s.expected)) or "none (control)") + _impact(s), s.description)
        for s in scenarios
    ]  # fmt: skip
    name_w = max(len(header[0]), *(len(r[0]) for r in rows))
    fault_w = max(len(header[1]), *(len(f) for r in rows for f in r[1]))
    cause_w = max(len(header[2]), *(len(r[2]) for r in rows))
    indent = " " * (name_w + 2)
    lines = [
        f"{header[0]:<{name_w}}  {header[1]:<{fault_w}}  {header[2]}",
        f"{'-' * name_w}  {'-' * fault_w}  {'-' * cause_w}",
    ]
    for name, faults, cause, description in rows:
        lines.append(f"{name:<{name_w}}  {faults[0]:<{fault_w}}  {cause}")
        lines += [f"{indent}{fault}" for fault in faults[1:]]
        lines += textwrap.wrap(
            description, DESCRIPTION_WIDTH, initial_indent=indent, subsequent_indent=indent
        )
    return "\n".join(line.rstrip() for line in lines)


def _impact(scenario: Scenario) -> str:
    """The business-metric anomaly the root cause's incident must hold, if any."""
    series = scenario.expect.business_metric
    return f", with a {series} anomaly" if series else ""
