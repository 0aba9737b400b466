"""What the command modules share: argparse's subparsers type, and the timestamped log."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import datetime
from typing import TypeAlias

# The object add_subparsers() returns; argparse gives it no public name.
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
Log = Callable[[str], None]


def stamped_log(line: str) -> None:
    """Print `line` after the wall-clock time, continuation lines indented under it."""
    stamp = f"[{datetime.now():%H:%M:%S}] "
    print(stamp + line.replace("\n", "\n" + " " * len(stamp)), flush=True)
