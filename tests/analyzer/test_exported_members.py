"""The detection package's public API is exactly what `__all__` says."""

from __future__ import annotations

import types

from analyzer import detection


def test_all_lists_every_public_name_and_nothing_else() -> None:
    """Everything public but the submodules themselves is in __all__, and nothing more."""
    public = {
        name
        for name, value in vars(detection).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert sorted(detection.__all__) == sorted(public)
