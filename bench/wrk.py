"""Drive `wrk` against 127.0.0.1 and read its results back as numbers.

A generated Lua script sets the request (method, JSON body) and, in `done`,
prints one machine-readable line, so nothing depends on wrk's human output.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

_MARKER = "BENCH_RESULT "
_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '%s{"requests": %.0f, "duration_us": %.0f, "connect": %.0f, "read": %.0f, "write": %.0f, '
    .. '"status": %.0f, "timeout": %.0f, "p50_us": %.0f, "p99_us": %.0f}\\n',
    "BENCH_RESULT ", summary.requests, summary.duration, e.connect, e.read, e.write,
    e.status, e.timeout, latency:percentile(50), latency:percentile(99)))
end
"""


@dataclass(frozen=True, slots=True)
class Load:
    """One kind of request; `url` must be on 127.0.0.1."""

    url: str
    method: str = "GET"
    body: str | None = None

    def __post_init__(self) -> None:
        # Load generation must never leave this machine.
        if not self.url.startswith("http://127.0.0.1:"):
            raise ValueError(f"refusing to load {self.url}: only 127.0.0.1 is a target")


@dataclass(frozen=True, slots=True)
class WrkResult:
    requests: int  # completed responses
    seconds: float
    non_2xx: int  # wrk counts statuses >= 400 here
    socket_errors: int  # connect, read, write and timeout errors
    p50_ms: float
    p99_ms: float
    cpu_s: Mapping[str, float] = field(default_factory=dict)  # CPU seconds per label in the run

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


class Wrk:
    """`wrk -t1 -c<connections>`; scripts live in `workdir`, which the caller removes."""

    def __init__(self, binary: str, workdir: Path, connections: int) -> None:
        self._binary = binary
        self._workdir = workdir
        self._connections = connections

    def command(self, load: Load, seconds: int) -> list[str]:
        return [
            self._binary, "-t1", f"-c{self._connections}", f"-d{seconds}s",
            "--timeout", "5s", "-s", str(self._script(load)), load.url,
        ]  # fmt: skip

    def run(self, load: Load, seconds: int) -> WrkResult:
        # The timeout is a safety net: wrk stops itself after `seconds`.
        done = subprocess.run(
            self.command(load, seconds), capture_output=True, text=True, timeout=seconds + 60
        )
        return parse(done.returncode, done.stdout, done.stderr)

    def start(self, load: Load, seconds: int) -> subprocess.Popen[str]:
        """A run in the background, for sampling a server while it is under load."""
        return subprocess.Popen(
            self.command(load, seconds), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )

    def _script(self, load: Load) -> Path:
        lines = [f'wrk.method = "{load.method}"']
        if load.body is not None:
            lines += [
                f"wrk.body = {json.dumps(load.body)}",  # a JSON string literal is a Lua one too
                'wrk.headers["Content-Type"] = "application/json"',
            ]
        text = "\n".join(lines) + "\n" + _DONE
        path = self._workdir / f"load-{hashlib.sha1(text.encode()).hexdigest()[:12]}.lua"
        if not path.exists():
            path.write_text(text)
        return path


def parse(returncode: int, stdout: str, stderr: str) -> WrkResult:
    line = next((ln for ln in stdout.splitlines() if ln.startswith(_MARKER)), None)
    if returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed (exit {returncode}):\n{stderr.strip()}\n{stdout.strip()}")
    raw: Mapping[str, float] = json.loads(line[len(_MARKER) :])
    return WrkResult(
        requests=int(raw["requests"]),
        seconds=raw["duration_us"] / 1e6,
        non_2xx=int(raw["status"]),
        socket_errors=int(raw["connect"] + raw["read"] + raw["write"] + raw["timeout"]),
        p50_ms=raw["p50_us"] / 1000.0,
        p99_ms=raw["p99_us"] / 1000.0,
    )
