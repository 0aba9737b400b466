"""`python -m bench.rca`."""

from __future__ import annotations

from bench.rca.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
