"""`python -m aiops_telemetry.stack_secrets DIR`: the stack's secrets, made once and kept in DIR.

The compose stack runs this as a one-shot service before anything else,
with DIR on a named volume that the other services mount read-only and read
through the `*_FILE` conventions (`POSTGRES_PASSWORD_FILE`, Grafana's
`GF_…__FILE`, our `AIOPS_…_FILE`). So a plain `docker compose up` needs no
setup, and the secrets live as long as the volume: `docker compose down`
and `up` keep them, `down --volumes` forgets them with the data they guard.

A secret set in the environment (from `.env`, for people who choose their
own) is used as given; otherwise the one generated at the first start.
Values are never printed.
"""

from __future__ import annotations

import os
import secrets
import string
import sys
from collections.abc import Mapping
from pathlib import Path

# File in DIR -> the variable that sets it instead of a generated value.
SECRETS: Mapping[str, str] = {
    "postgres_password": "POSTGRES_PASSWORD",
    "redis_password": "REDIS_PASSWORD",
    "reader_password": "AIOPS_READER_PASSWORD",
    "chaos_token": "AIOPS_CHAOS_TOKEN",
    "grafana_admin_password": "GRAFANA_ADMIN_PASSWORD",
}
# Redis reads its password from a config file: no secret on its command line.
REDIS_CONF = "redis.conf"
GENERATED = "generated"  # the generated values, kept while .env overrides them
# Config files and shells take these without quoting.
PUNCTUATION = "-_.~+/=@%^,:"
ALLOWED = frozenset(string.ascii_letters + string.digits + PUNCTUATION)


class SecretError(ValueError):
    """A chosen secret cannot be used; the message says which and why."""


def ensure_secrets(folder: Path, environ: Mapping[str, str]) -> dict[str, str]:
    """Write every secret into `folder`, readable by the stack's other users (other uids);
    what each is, by file name: `generated` (just now), `kept` (generated before) or `from VAR`.

    A generated secret is kept in `folder/generated/` even while a chosen one is in use, so
    that dropping the choice from .env goes back to it rather than to a new one.
    """
    for variable in SECRETS.values():  # all checked before anything is written
        if not set(environ.get(variable, "")) <= ALLOWED:
            raise SecretError(f"{variable} may hold only letters, digits and {PUNCTUATION}")
    (folder / GENERATED).mkdir(mode=0o755, exist_ok=True)
    outcome: dict[str, str] = {}
    values: dict[str, str] = {}
    for name, variable in SECRETS.items():
        if chosen := environ.get(variable, ""):
            values[name], outcome[name] = chosen, f"from {variable}"
            continue
        generated = folder / GENERATED / name
        if generated.exists() and (value := generated.read_text(encoding="utf-8").strip()):
            values[name], outcome[name] = value, "kept"
        else:
            values[name], outcome[name] = secrets.token_urlsafe(24), "generated"
            _write(generated, values[name])
    for name, value in values.items():
        _write(folder / name, value)
    _write(folder / REDIS_CONF, f"requirepass {values['redis_password']}\n")
    return outcome


def _write(path: Path, text: str) -> None:
    """Replace `path` whole (a reader never sees half a secret), mode 0444."""
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8")
    partial.chmod(0o444)
    os.replace(partial, path)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m aiops_telemetry.stack_secrets DIR", file=sys.stderr)
        return 2
    folder = Path(args[0])
    try:
        outcome = ensure_secrets(folder, os.environ)
    except (SecretError, OSError) as exc:
        print(f"stack secrets in {folder}: {exc}", file=sys.stderr)
        return 1
    print(f"stack secrets in {folder}: " + ", ".join(f"{n} {o}" for n, o in outcome.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
