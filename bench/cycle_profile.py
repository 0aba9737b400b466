"""Where a profiled analyzer cycle spent its time, as sections K (keys) and N (metric series)
note it."""

from __future__ import annotations

import cProfile
import io
import pstats

# Python entry points whose cumulative time the profile reports (coroutines only while running).
PROFILED = ("judge_window", "conclude_window", "count_bars", "window_stats", "learn", "detect")


def profile_lines(
    profiler: cProfile.Profile, n: int = 8, named: tuple[str, ...] = PROFILED
) -> list[str]:
    """The entry points `named` (cumulative), then where Python spent its own time."""
    stats = pstats.Stats(profiler, stream=io.StringIO())
    entries = stats.stats  # type: ignore[attr-defined]  # pstats keeps them untyped
    lines = [
        f"{file.rsplit('/', 1)[-1]} {name}: {cum * 1000:.0f} ms cumulative"
        for (file, _, name), (_, _, _, cum, _) in entries.items()
        if name in named
    ]
    mine = sorted(entries.items(), key=lambda item: -item[1][2])[:n]
    lines += [
        f"{_where(file, line)}{name}: {own * 1000:.0f} ms own, {calls} calls"
        for (file, line, name), (_, calls, own, _, _) in mine
    ]
    return lines


def _where(file: str, line: int) -> str:
    return "" if file == "~" else f"{file.rsplit('/', 1)[-1]}:{line} "  # "~": a built-in
