"""How the end-to-end files are scheduled under `pytest -n 2 --dist loadfile`."""

from __future__ import annotations

import pytest

LONG_FIRST = "test_soak.py"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # A file's first test also builds and starts its stack, maybe while the other
    # worker does the same on two cores: more than the default 300 s may go by.
    for item in items:
        if item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(600))
    # The soak takes longest (5 minutes by default): first in the collection, xdist (with
    # --no-loadscope-reorder, and the soak file holding > 2 tests so no second file is queued
    # behind it) hands it to one worker at once and the other worker runs every other file.
    items.sort(key=lambda item: item.path.name != LONG_FIRST)
