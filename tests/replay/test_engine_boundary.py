"""The engine stands alone: importing it loads no database, cache, web or analyzer code."""

from __future__ import annotations

import subprocess
import sys

FORBIDDEN = ("analyzer", "asyncpg", "redis", "fastapi", "aiops_telemetry")


def test_importing_every_engine_module_loads_no_storage_web_or_analyzer_module() -> None:
    code = (
        "import pkgutil, sys, aiops_engine\n"
        "for m in pkgutil.walk_packages(aiops_engine.__path__, 'aiops_engine.'):\n"
        "    __import__(m.name)\n"
        f"print(sorted({{n.split('.')[0] for n in sys.modules}} & set({FORBIDDEN!r})))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
