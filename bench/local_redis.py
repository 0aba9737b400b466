"""A throwaway Redis server run from the machine's own `redis-server` binary (benchmarks only)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from tests.support.redis_server import RedisAtPort

MISSING = (
    "The redis-server binary was not found. Install it "
    "(Debian/Ubuntu: `apt-get install redis-server`; macOS: `brew install redis`) "
    "or point AIOPS_REDIS_SERVER at it."
)


def find_server() -> Path:
    if configured := os.environ.get("AIOPS_REDIS_SERVER"):
        if os.access(configured, os.X_OK) and Path(configured).is_file():
            return Path(configured)
        raise RuntimeError(f"AIOPS_REDIS_SERVER={configured} is not an executable file. {MISSING}")
    if found := shutil.which("redis-server"):
        return Path(found)
    raise RuntimeError(MISSING)


class LocalRedis(RedisAtPort):
    """`redis-server` on 127.0.0.1:`port`, in the foreground, with nothing persisted.

    `stop` then `start` simulates an outage: the server comes back on the same
    port (so the same URL), empty, as nothing is saved to disk.
    """

    def __init__(self, port: int) -> None:
        self.port = port
        self.binary = find_server()
        self.root = Path(tempfile.mkdtemp(prefix="aiops-redis-"))
        self.logfile = self.root / "redis.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def _log_tail(self) -> str:
        return self.logfile.read_text(errors="replace")[-2000:] if self.logfile.exists() else ""

    def start(self, timeout: float = 10.0) -> None:
        """Start the server (a no-op when it runs) and return once it answers PING."""
        if self.running:
            return
        command = [
            str(self.binary), "--port", str(self.port), "--bind", "127.0.0.1",
            "--dir", str(self.root), "--save", "", "--appendonly", "no", "--daemonize", "no",
        ]  # fmt: skip
        with self.logfile.open("ab") as log:  # the log goes to stdout when no logfile is set
            self._process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                self._process = None
                raise RuntimeError(f"redis-server exited at start:\n{self._log_tail()}")
            if self._answers_ping():
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(
            f"redis-server did not answer PING within {timeout:.0f}s:\n{self._log_tail()}"
        )

    def stop(self) -> None:
        """Shut the server down (SIGTERM, then SIGKILL); `start` brings it back, empty."""
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
