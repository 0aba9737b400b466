"""What an end-to-end test measured, kept in tests/artifacts/ (git-ignored), run by run.

The docs quote none of it (docs/reliability.md says what the tests check): figures in
the docs come only from the reports in bench/results/ (bench/figures.py).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


def record_figures(name: str, figures: Mapping[str, Any], *, fresh: bool = False) -> Path:
    """Merge `figures` into tests/artifacts/<name>.json (`fresh`: start the file anew)."""
    path = ARTIFACTS / f"{name}.json"
    known = {} if fresh or not path.exists() else json.loads(path.read_text())
    ARTIFACTS.mkdir(exist_ok=True)
    path.write_text(json.dumps(known | dict(figures), indent=2, sort_keys=True) + "\n")
    return path
