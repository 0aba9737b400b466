"""`python -m aiops_chaos COMMAND`: the chaos toolbox's command line.

Each command registers itself with an `add_<name>_command(subparsers)` that
sets `func` (the handler, returning the exit status), so commands can be added
without touching one another.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import threading
from collections.abc import Callable, Mapping, Sequence

from ._types import Subparsers
from .evaluate import add_evaluate_command
from .load import LoadConfig, LoadStats, run_load
from .scenario_cli import add_scenario_commands

Handler = Callable[[argparse.Namespace], int]
# The object add_subparsers() returns; argparse gives it no public name.

PROGRESS_EVERY_S = 10.0
DOWN_HINT = (
    "every request failed: the stack seems down. Start it with `make up` (then `make ps` "
    "shows its health), or point --checkout, --payment and --inventory at where it runs."
)
FAILING_HINT = "every request failed with a 5xx: the stack answers but is broken; see `make logs`."


def build_parser(env: Mapping[str, str] | None = None) -> argparse.ArgumentParser:
    """The parser of every command; `env` (default: os.environ) supplies defaults."""
    parser = argparse.ArgumentParser(
        prog="python -m aiops_chaos",
        description="Drive traffic at the shop, break it on purpose, score the analyzer.",
    )
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    add_load_command(subparsers, env=os.environ if env is None else env)
    add_scenario_commands(subparsers)
    add_evaluate_command(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; its exit status."""
    args = build_parser().parse_args(argv)
    handler: Handler = args.func
    try:
        return handler(args)
    except KeyboardInterrupt:  # a second Ctrl-C: the user wants out now
        return 130


def add_load_command(subparsers: Subparsers, *, env: Mapping[str, str] | None = None) -> None:
    """`load`: a steady mix of traffic for a while, then a summary."""
    env = os.environ if env is None else env
    command = subparsers.add_parser(
        "load",
        help="send a steady, realistic mix of requests to the shop, then stop",
        description=(
            "Open-loop traffic across the shop (60% checkouts, 25% stock lookups, 5% stock "
            "lists, 10% direct payments) with log-normal gaps, until --duration has passed "
            "or Ctrl-C. Requests carry X-Trace-Id load-<hex>."
        ),
    )

    def option(
        flag: str, variable: str, default: str, kind: Callable[[str], object], what: str
    ) -> None:
        # A string default goes through `type` like a command-line value would.
        value = env.get(variable, default)
        shown = value.replace("%", "%%")  # help strings are %-formatted
        command.add_argument(flag, type=kind, default=value, help=f"{what} (${variable}: {shown})")

    option("--rate", "AIOPS_LOAD_RATE", "10", float, "requests per second, on average")
    option("--duration", "AIOPS_LOAD_DURATION", "60", float, "seconds to run")
    option("--checkout", "AIOPS_CHECKOUT_URL", "http://localhost:8001", str, "checkout's URL")
    option("--payment", "AIOPS_PAYMENT_URL", "http://localhost:8002", str, "payment's URL")
    option("--inventory", "AIOPS_INVENTORY_URL", "http://localhost:8003", str, "inventory's URL")
    command.add_argument("--seed", type=int, default=None, help="replay the same traffic")
    command.set_defaults(func=_load)


def _load(args: argparse.Namespace) -> int:
    try:
        config = LoadConfig(
            checkout_url=args.checkout,
            payment_url=args.payment,
            inventory_url=args.inventory,
            rate=args.rate,
            duration_s=args.duration,
            seed=args.seed,
        )
    except ValueError as exc:
        print(f"load: {exc}", file=sys.stderr)
        return 2
    print(
        f"load: {config.rate:g} requests/s for {config.duration_s:g} s to checkout "
        f"{config.checkout_url}, payment {config.payment_url}, inventory "
        f"{config.inventory_url}; Ctrl-C stops early",
        file=sys.stderr,
        flush=True,
    )
    stats = asyncio.run(_run(config))
    print(stats.summary(), flush=True)
    if stats.sent and stats.failed == stats.sent:
        answered = any(status for _, status in stats.by_status)
        print(FAILING_HINT if answered else DOWN_HINT, file=sys.stderr, flush=True)
        return 1
    return 0


async def _run(config: LoadConfig) -> LoadStats:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)  # SIGTERM: `docker compose stop`

    def stopping() -> None:
        print(
            f"load: stopping; waiting up to {config.timeout_s:g} s for the requests in flight "
            "(Ctrl-C again to quit now)",
            file=sys.stderr,
            flush=True,
        )
        stop.set()
        for sig in signals:  # so that a second Ctrl-C interrupts at once
            loop.remove_signal_handler(sig)

    # Signal handlers can only be installed from the main thread (tests run us elsewhere).
    on_main_thread = threading.current_thread() is threading.main_thread()
    for sig in signals if on_main_thread else ():
        loop.add_signal_handler(sig, stopping)
    try:
        return await run_load(
            config, stop=stop, on_progress=_progress, progress_every_s=PROGRESS_EVERY_S
        )
    finally:
        for sig in signals if on_main_thread else ():
            loop.remove_signal_handler(sig)


def _progress(stats: LoadStats) -> None:
    rate = stats.sent / stats.sending_s if stats.sending_s > 0 else 0.0
    print(
        f"[{stats.elapsed_s:6.0f} s] sent {stats.sent} ({rate:.1f}/s), failed {stats.failed}, "
        f"skipped {stats.skipped}, in flight {stats.in_flight}",
        file=sys.stderr,
        flush=True,
    )
