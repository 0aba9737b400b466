"""Where the running compose stack is: ports, secrets and project name.

Each setting comes from the environment first, then the repository's `.env`,
the order compose itself uses, so a scenario aims at whatever stack
`docker compose` in this folder would talk to. A secret set in neither is
the one the stack generated at its first start, read from its `secrets`
volume (through the postgres container, which mounts it).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

DEFAULT_PORTS: Mapping[str, str] = {
    "checkout": "8001", "payment": "8002", "inventory": "8003",
    "analyzer": "8004", "postgres": "5432",
}  # fmt: skip
HOST = "127.0.0.1"  # compose publishes every port on loopback only
NOT_RUNNING = "the stack is not running: start it with `make up`"
SECRETS_DIR = "/run/secrets/aiops"  # the `secrets` volume, as docker-compose.yml mounts it
MISSING_SECRET_HELP = (
    "{variable} is not set (environment or .env) and the stack's generated {name} cannot be "  # noqa: S105 (a message)
    "read ({reason}): start the stack with `make up`, or export {variable}"
)


class StackError(RuntimeError):
    """The stack cannot do what a scenario needs; the message says what to do about it."""


def read_dotenv(path: Path) -> dict[str, str]:
    """`KEY=value` lines of a .env file (comments, blanks and `export ` ignored); {} if absent."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    values: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip().removeprefix("export ").strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = (part.strip() for part in line.split("=", 1))
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        else:
            value = value.split(" #", 1)[0].strip()
        values[key] = value
    return values


def parse_port(name: str, value: str) -> int:
    """A port, or the first of a range such as `8004-8005` (the analyzer's)."""
    first = value.strip().split("-", 1)[0].strip()
    if not first.isdigit() or not 0 < int(first) < 65536:
        raise StackError(f"{name}={value!r} is not a port (nor a range such as 8004-8005)")
    return int(first)


@dataclass(frozen=True)
class StackSettings:
    repo_root: Path
    ports: Mapping[str, int]  # checkout, payment, inventory, analyzer, postgres
    chaos_token: str | None
    postgres_password: str | None
    compose_project: str | None  # passed as `-p` only when set

    @classmethod
    def from_env(cls, repo_root: Path, environ: Mapping[str, str] | None = None) -> StackSettings:
        """Each setting from `environ` (default: the process's) or else `repo_root/.env`."""
        env = os.environ if environ is None else environ
        dotenv = read_dotenv(repo_root / ".env")

        def get(name: str) -> str | None:
            return env.get(name) or dotenv.get(name) or None

        ports = {
            service: parse_port(var, get(var) or default)
            for service, default in DEFAULT_PORTS.items()
            for var in [f"{service.upper()}_PORT"]
        }
        return cls(
            repo_root=repo_root,
            ports=ports,
            chaos_token=get("AIOPS_CHAOS_TOKEN"),
            postgres_password=get("POSTGRES_PASSWORD"),
            compose_project=get("COMPOSE_PROJECT_NAME"),
        )

    def url(self, service: str) -> str:
        return f"http://{HOST}:{self.ports[service]}"

    def require_chaos_token(self) -> str:
        return self._chaos_token

    @cached_property
    def _chaos_token(self) -> str:
        return self.chaos_token or self.stack_secret("chaos_token", "AIOPS_CHAOS_TOKEN")

    @cached_property
    def database_url(self) -> str:
        password = self.postgres_password or self.stack_secret(
            "postgres_password", "POSTGRES_PASSWORD"
        )
        return f"postgresql://aiops:{password}@{HOST}:{self.ports['postgres']}/aiops"

    def stack_secret(self, name: str, variable: str) -> str:
        """The secret `name` the running stack generated; `variable` names its override."""
        command = self.compose_command("exec", "-T", "postgres", "cat", f"{SECRETS_DIR}/{name}")
        try:
            done = subprocess.run(
                command, cwd=self.repo_root, capture_output=True, text=True, timeout=60
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            reason = str(exc)
        else:
            if done.returncode == 0 and done.stdout.strip():
                return done.stdout.strip()
            reason = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "empty"
        raise StackError(MISSING_SECRET_HELP.format(variable=variable, name=name, reason=reason))

    def compose_command(self, *args: str) -> list[str]:
        project = ["-p", self.compose_project] if self.compose_project else []
        return ["docker", "compose", *project, *args]


def find_repo_root(start: Path | None = None) -> Path:
    """The checkout holding docker-compose.yml and scenarios/: upwards from `start` (the
    working directory), else where this package sits in the source tree."""
    here = (start or Path.cwd()).resolve()
    candidates = [here, *here.parents, Path(__file__).resolve().parents[3]]
    for folder in candidates:
        if (folder / "docker-compose.yml").is_file() and (folder / "scenarios").is_dir():
            return folder
    raise StackError(
        f"no docker-compose.yml with a scenarios/ folder above {here}: run this from the repository"
    )
