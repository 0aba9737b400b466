"""Real service processes (uvicorn), started and stopped by tests and benchmarks."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def free_port_pair() -> int:
    """A port p such that p and p + 1 are both free (for a range of two)."""
    for _ in range(100):
        port = free_port()
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise RuntimeError("no two consecutive free ports on 127.0.0.1")


class ServiceProcess:
    """`uvicorn --factory <app>` on 127.0.0.1, as the container runs it."""

    def __init__(self, app: str, env: Mapping[str, str], port: int | None = None) -> None:
        self.app = app
        self.port = port or free_port()
        self.env = {**os.environ, **env}
        fd, log = tempfile.mkstemp(prefix=f"aiops-{app.split('.')[0]}-", suffix=".log")
        os.close(fd)
        self.log = Path(log)
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> ServiceProcess:
        command = [
            sys.executable, "-m", "uvicorn", "--factory", self.app,
            "--host", "127.0.0.1", "--port", str(self.port),
            "--loop", "uvloop", "--http", "httptools", "--no-access-log",
        ]  # fmt: skip
        with self.log.open("ab") as log:
            self._process = subprocess.Popen(
                command, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"{self.app} exited at start:\n{self.output()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()  # a process that never got healthy must not outlive the test
        raise RuntimeError(f"{self.app} not healthy within {timeout}s:\n{self.output()}")

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM (a graceful shutdown flushes telemetry), then SIGKILL if it hangs."""
        if self._process is None or self._process.poll() is not None:
            return None if self._process is None else self._process.returncode
        self._process.send_signal(signal.SIGTERM)
        try:
            return self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            self._process.kill()
            return self._process.wait()

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def output(self, tail: int | None = 4000) -> str:
        """What the process printed (stdout and stderr): the last `tail` characters, or all."""
        text = self.log.read_text(errors="replace")
        return text if tail is None else text[-tail:]
