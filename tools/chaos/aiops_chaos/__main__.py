"""`python -m aiops_chaos`: the command line (see cli.py)."""

from __future__ import annotations

import sys

from aiops_chaos.cli import main

if __name__ == "__main__":
    sys.exit(main())
