"""`python -m bench.detect`."""

from __future__ import annotations

from bench.detect.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
