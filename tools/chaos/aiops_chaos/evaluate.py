"""`evaluate`: every scenario against the running stack, one after another, then the report.

Writes `evaluation.json`, `evaluation.md` and one `<scenario>.png` per scenario
to the output folder (by default `evaluation/` at the repository root), and
prints the table. The exit status says whether every target was met; the
report is written either way.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from ._types import Log, Subparsers, stamped_log
from .evaluation_json import StackInfo, evaluation_json
from .report import markdown, table
from .results import ScenarioResult
from .runner import run_scenario
from .scenarios import Scenario, ScenarioError, load_all
from .stack import SERVICES, Stack, StackError, StackSettings
from .stack_settings import find_repo_root
from .summary import FAILED_NOTE, summarize
from .timeline import draw_timeline, ensure_matplotlib

RUN_BUDGET_S = 15 * 60  # the bound on a whole evaluation, here
JSON_NAME, MARKDOWN_NAME = "evaluation.json", "evaluation.md"


async def evaluate(
    stack: Stack, scenarios: Sequence[Scenario], out_dir: Path, *, log: Log = print
) -> list[ScenarioResult]:
    """Run `scenarios` in order on `stack` (entered), write the reports to `out_dir`, print the
    table. A scenario that raises is recorded as not detected, and the next one runs."""
    started_at = datetime.now(UTC)
    stack_info = await _stack_info(stack)
    results: list[ScenarioResult] = []
    pngs: dict[str, str] = {}
    for index, scenario in enumerate(scenarios, 1):
        log(f"=== [{index}/{len(scenarios)}] {scenario.name}")
        began = datetime.now(UTC)
        try:
            result = await run_scenario(stack, scenario, log=log)
        except Exception as exc:  # one broken run must not cost the others; the runner cleans up
            log(f"{scenario.name}: the run failed: {type(exc).__name__}: {exc}")
            result = failed_result(scenario, exc, began)
        results.append(result)
        png = out_dir / f"{scenario.name}.png"
        try:
            draw_timeline(result, png)
            pngs[scenario.name] = png.name
        except Exception as exc:  # a missing picture is no reason to lose the scores
            log(f"{scenario.name}: no timeline: {type(exc).__name__}: {exc}")
        # Rewritten after every scenario, so an interrupted run still leaves what it measured.
        # Blocking file work is fine here: between scenarios nothing else runs on the loop.
        write_reports(results, out_dir, pngs, started_at, datetime.now(UTC), stack_info)
    finished_at = datetime.now(UTC)
    write_reports(results, out_dir, pngs, started_at, finished_at, stack_info)
    minutes = (finished_at - started_at).total_seconds() / 60
    over = " (over the budget)" if minutes * 60 > RUN_BUDGET_S else ""
    log(table(results))
    log(f"took {minutes:.1f} min of a {RUN_BUDGET_S // 60} min budget{over}")
    log(f"report: {out_dir / JSON_NAME}, {out_dir / MARKDOWN_NAME} and {len(pngs)} timelines")
    return results


def failed_result(scenario: Scenario, exc: BaseException, began: datetime) -> ScenarioResult:
    """A scenario that raised: nothing detected, every expected cause missed, the error noted."""
    control = scenario.is_control
    return ScenarioResult(
        name=scenario.name,
        description=scenario.description,
        fault=scenario.fault_summary(),
        expected_root_cause=scenario.expected,
        started_at=began,
        fault_at=None,
        fault_until=None,
        detected=False,
        detected_at=None,
        time_to_detect_s=None,
        rca_top1_correct=None if control else False,
        rca_top3_correct=None if control else False,
        false_positives=0,
        false_negatives=len(scenario.expected),
        notes=[f"{FAILED_NOTE}{type(exc).__name__}: {exc}"],
        expected_business_metric=scenario.expect.business_metric,
        business_metric_linked=None if scenario.expect.business_metric is None else False,
    )


def write_reports(
    results: Sequence[ScenarioResult],
    out_dir: Path,
    pngs: Mapping[str, str],
    started_at: datetime,
    finished_at: datetime,
    stack_info: StackInfo,
) -> None:
    """evaluation.json and evaluation.md, each replaced whole (never left half-written)."""
    report = evaluation_json(
        results, started_at=started_at, finished_at=finished_at, stack_info=stack_info
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    _write(out_dir / JSON_NAME, json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    _write(out_dir / MARKDOWN_NAME, markdown(results, report["summary"], pngs))


def _write(path: Path, text: str) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)


async def _stack_info(stack: Stack) -> StackInfo:
    """Where the evaluation ran, and the analyzer's own account of itself at the start."""
    settings = stack.settings
    info: StackInfo = {
        "urls": {service: settings.url(service) for service in SERVICES},
        "compose_project": settings.compose_project,
    }
    try:
        health = await stack.analyzer_health()
    except StackError as exc:
        info["analyzer_health_error"] = str(exc)
    else:
        info["analyzer"] = {"status": health.status, "role": health.role,
                            "cycles": health.cycles, "baselines": health.baselines}  # fmt: skip
    return info


def add_evaluate_command(subparsers: Subparsers) -> None:
    """`evaluate [--only NAME[,NAME]] [--out DIR]`; its `func` returns the exit status."""
    command = subparsers.add_parser(
        "evaluate",
        help="run every scenario against the stack and score detection (writes evaluation/)",
        description=(
            "Every scenario in scenarios/, one after another, against the running stack "
            "(`make up`); then a table, evaluation.json, evaluation.md and a PNG timeline per "
            "scenario. Exit 0 when every target is met, 1 otherwise (the report is written "
            "either way, unless the stack is down from the start), 2 for a bad scenario name "
            "or file."
        ),
    )
    command.add_argument(
        "--only",
        type=_names,
        default=None,
        metavar="NAME[,NAME]",
        help="run only these scenarios (see `list`)",
    )
    command.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="where the report goes (default: evaluation/ of the repository)",
    )
    command.add_argument(
        "--scenarios",
        type=Path,
        default=None,
        metavar="DIR",
        help="the folder of scenario files (default: scenarios/ of the repository)",
    )
    command.set_defaults(func=evaluate_command)


def evaluate_command(args: argparse.Namespace) -> int:
    try:
        root = find_repo_root()
        scenarios = select(load_all(args.scenarios or root / "scenarios"), args.only)
    except (ScenarioError, StackError) as exc:
        print(f"evaluate: {exc}", file=sys.stderr)
        return 2
    try:  # say so now, before any traffic
        ensure_matplotlib()
        settings = StackSettings.from_env(root)
        settings.require_chaos_token()
    except RuntimeError as exc:  # StackError is one
        print(f"evaluate: {exc}", file=sys.stderr)
        return 1
    out_dir: Path = args.out or root / "evaluation"
    try:
        results = asyncio.run(_evaluate(settings, scenarios, out_dir))
    except StackError as exc:  # down before the first scenario: nothing to report
        print(f"evaluate: {exc}", file=sys.stderr)
        return 1
    return 0 if summarize(results)["all_targets_met"] else 1


def select(scenarios: list[Scenario], only: Sequence[str] | None) -> list[Scenario]:
    """The scenarios named in `only` (all when None), in their usual order."""
    if only is None:
        return scenarios
    known = {s.name for s in scenarios}
    unknown = [name for name in only if name not in known]
    if unknown:
        raise ScenarioError(
            f"no scenario {', '.join(map(repr, unknown))}; known: {', '.join(sorted(known))}"
        )
    return [s for s in scenarios if s.name in only]


async def _evaluate(
    settings: StackSettings, scenarios: Sequence[Scenario], out_dir: Path
) -> list[ScenarioResult]:
    async with Stack(settings) as stack:
        await stack.check_health()  # a stack that is down fails here, not once per scenario
        return await evaluate(stack, scenarios, out_dir, log=stamped_log)


def _names(value: str) -> list[str]:
    names = [name.strip() for name in value.split(",") if name.strip()]
    if not names:
        raise argparse.ArgumentTypeError("name at least one scenario")
    return names
