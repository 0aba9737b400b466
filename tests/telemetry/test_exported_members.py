"""The library's public API is exactly what `__all__` says."""

from __future__ import annotations

import aiops_telemetry


def test_all_lists_every_public_name_and_nothing_else() -> None:
    public = {name for name in vars(aiops_telemetry) if not name.startswith("_")}
    assert sorted(aiops_telemetry.__all__) == sorted(public)
