"""CPU time per process from /proc, to say where a request's cost went.

On a 2-core machine wrk, the server and PostgreSQL compete for the same
cores, so req/s alone mixes the middleware's own cost with the database's;
CPU microseconds per request separate them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path

# Cumulative CPU seconds per label ("server", "postgres", ...), read before and after a run.
CpuProbe = Callable[[], dict[str, float]]


def cpu_seconds(pid: int) -> float:
    """utime + stime of every thread of `pid`; 0 once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    # Fields after the command name, which may itself contain spaces or parentheses.
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            continue
        if ppid == parent:
            found.append(int(entry.name))
    return found


def postmaster_pid(datadir: Path) -> int:
    return int((datadir / "postmaster.pid").read_text().split()[0])


def tree_seconds(root: int) -> float:
    """A postmaster and its backends (which live as long as their connections)."""
    return cpu_seconds(root) + sum(cpu_seconds(pid) for pid in _children(root))


def probe(groups: Mapping[str, Callable[[], float]]) -> CpuProbe:
    def read() -> dict[str, float]:
        return {label: seconds() for label, seconds in groups.items()}

    return read


def of_pid(pid: int) -> Callable[[], float]:
    return lambda: cpu_seconds(pid)
