"""Markdown helpers shared by the report's sections."""

from __future__ import annotations

from collections.abc import Sequence


def table(headers: Sequence[str], body: Sequence[Sequence[str]]) -> list[str]:
    return [
        "| " + " | ".join(headers) + " |",
        "|" + "|".join(" --- " for _ in headers) + "|",
        *("| " + " | ".join(row) + " |" for row in body),
    ]
