"""`aiops` and `python -m aiops_cli`: the command line (see cli.py)."""

from __future__ import annotations

import sys

from aiops_cli.cli import main

__all__ = ["main"]  # the `aiops` console script's entry point

if __name__ == "__main__":
    sys.exit(main())
