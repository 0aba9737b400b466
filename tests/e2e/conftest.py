"""How the end-to-end files are scheduled under `pytest -n 2 --dist loadfile`."""

from __future__ import annotations

import pytest

LONG_FIRST = "test_soak.py"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The soak takes ~10 minutes: first in the collection, xdist (with --no-loadscope-reorder,
    # and the soak file holding > 2 tests so no second file is queued behind it) hands it to
    # one worker at once and the other worker runs every other file meanwhile.
    items.sort(key=lambda item: item.path.name != LONG_FIRST)
