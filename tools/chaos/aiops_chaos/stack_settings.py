"""Where the running compose stack is: ports, secrets and project name.

Each setting comes from the environment first, then the repository's `.env`
(which `make up` writes), the order compose itself uses, so a scenario aims
at whatever stack `docker compose` in this folder would talk to.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_PORTS: Mapping[str, str] = {
    "checkout": "8001", "payment": "8002", "inventory": "8003",
    "analyzer": "8004", "postgres": "5432",
}  # fmt: skip
HOST = "127.0.0.1"  # compose publishes every port on loopback only
NOT_RUNNING = "the stack is not running: start it with `make up`"
NO_TOKEN = (
    "AIOPS_CHAOS_TOKEN is not set and .env has none: "  # noqa: S105 (a message, not a secret)
    "run `make up` (it writes one) or export it"
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


@dataclass(frozen=True, slots=True)
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
        if not self.chaos_token:
            raise StackError(NO_TOKEN)
        return self.chaos_token

    @property
    def database_url(self) -> str:
        if not self.postgres_password:
            raise StackError(
                "POSTGRES_PASSWORD is not set and .env has none: run `make up` (it writes one) "
                "or export it"
            )
        return f"postgresql://aiops:{self.postgres_password}@{HOST}:{self.ports['postgres']}/aiops"

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
