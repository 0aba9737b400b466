"""A throwaway PostgreSQL cluster from the machine's own server binaries (the benchmarks read its
postmaster's CPU time, so it runs on the host rather than in a container)."""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

MISSING = (
    "PostgreSQL server binaries (initdb, pg_ctl) were not found. Install them "
    "(Debian/Ubuntu: `apt-get install postgresql`; macOS: `brew install postgresql@15`) "
    "or point AIOPS_PG_BINDIR at their folder."
)


def find_bindir() -> Path:
    candidates = [os.environ.get("AIOPS_PG_BINDIR", "")]
    if pg_config := shutil.which("pg_config"):
        candidates.append(
            subprocess.run([pg_config, "--bindir"], capture_output=True, text=True).stdout.strip()
        )
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    if initdb := shutil.which("initdb"):
        candidates.append(str(Path(initdb).resolve().parent))
    for candidate in candidates:
        if (
            candidate
            and (Path(candidate) / "initdb").exists()
            and (Path(candidate) / "pg_ctl").exists()
        ):
            return Path(candidate)
    raise RuntimeError(MISSING)


class LocalPostgres:
    """`initdb` into a temporary folder, then `pg_ctl start/stop` on a given port.

    PostgreSQL refuses to run as root, so as root the cluster belongs to the
    `postgres` system user (which Debian's package creates).
    """

    def __init__(self, port: int) -> None:
        self.port = port
        self.bindir = find_bindir()
        self.root = Path(tempfile.mkdtemp(prefix="aiops-pg-"))
        self.datadir = self.root / "data"
        self.logfile = self.root / "postgres.log"
        self._user = "postgres" if os.geteuid() == 0 else None
        if self._user:
            try:
                entry = pwd.getpwnam(self._user)
            except KeyError as exc:
                raise RuntimeError(
                    f"running as root needs a '{self._user}' user; {MISSING}"
                ) from exc
            os.chown(self.root, entry.pw_uid, entry.pw_gid)

    @property
    def dsn(self) -> str:
        return f"postgresql://aiops:aiops@127.0.0.1:{self.port}/aiops"

    def _run(self, *args: str) -> None:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self._user:
            command = ["runuser", "-u", self._user, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, cwd=self.root)
        if result.returncode != 0:
            log = self.logfile.read_text() if self.logfile.exists() else ""
            raise RuntimeError(f"{args[0]} failed: {result.stderr}{result.stdout}\n{log[-2000:]}")

    def init(self) -> None:
        self._run(
            "initdb",
            "-D",
            str(self.datadir),
            "-U",
            "aiops",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        )
        self.start()
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "aiops", "aiops")

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._run(
            "pg_ctl", "-D", str(self.datadir), "-o", options, "-l", str(self.logfile), "-w", "start"
        )

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.datadir), "-m", "fast", "-w", "stop")

    def destroy(self) -> None:
        with contextlib.suppress(RuntimeError):
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
