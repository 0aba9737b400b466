"""Each engine and analyzer package's public API (and that of the analyzer's response models)
is exactly what its `__all__` says."""

from __future__ import annotations

import types

import pytest

from aiops_api import analyzer as analyzer_api
from aiops_engine import detection, rca
from aiops_engine import incidents as engine_incidents
from analyzer import incidents


@pytest.mark.parametrize(
    "package",
    [detection, rca, engine_incidents, incidents, analyzer_api],
    ids=lambda p: p.__name__,
)
def test_all_lists_every_public_name_and_nothing_else(package: types.ModuleType) -> None:
    """Everything public but the submodules themselves is in __all__, and nothing more."""
    public = {
        name
        for name, value in vars(package).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert sorted(package.__all__) == sorted(public)
