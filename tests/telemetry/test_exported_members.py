"""The library's public API is exactly what `__all__` says."""

from __future__ import annotations

from types import ModuleType

import aiops_telemetry


def test_all_lists_every_public_name_and_nothing_else() -> None:
    """Submodules are left out: a module run as a program (`stack_secrets`) is no API."""
    public = {
        name
        for name, value in vars(aiops_telemetry).items()
        if not name.startswith("_") and not isinstance(value, ModuleType)
    }
    assert sorted(aiops_telemetry.__all__) == sorted(public)
