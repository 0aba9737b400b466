"""StackSettings: environment over .env, the compose defaults otherwise, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from aiops_chaos.stack import Stack, StackError, StackSettings
from tests.support.processes import free_port

DOTENV = """\
# written by make up
POSTGRES_PASSWORD=from-dotenv
GRAFANA_ADMIN_PASSWORD=unused
export AIOPS_CHAOS_TOKEN="dotenv-token"
PAYMENT_PORT=9102  # moved
"""


def repo_with_dotenv(tmp_path: Path, text: str = DOTENV) -> Path:
    (tmp_path / ".env").write_text(text, encoding="utf-8")
    return tmp_path


def test_dotenv_fills_what_the_environment_leaves_out(tmp_path: Path) -> None:
    """Token, password and a moved port come from .env; other ports keep compose's defaults."""
    settings = StackSettings.from_env(repo_with_dotenv(tmp_path), environ={})
    assert settings.require_chaos_token() == "dotenv-token"
    assert settings.url("payment") == "http://127.0.0.1:9102"
    assert settings.url("checkout") == "http://127.0.0.1:8001"
    assert settings.url("analyzer") == "http://127.0.0.1:8004"
    assert settings.database_url == "postgresql://aiops:from-dotenv@127.0.0.1:5432/aiops"
    assert settings.compose_command("stop", "payment") == ["docker", "compose", "stop", "payment"]


def test_the_environment_wins_over_dotenv(tmp_path: Path) -> None:
    """Every variable set in the environment overrides the .env value."""
    environ = {
        "AIOPS_CHAOS_TOKEN": "env-token",
        "POSTGRES_PASSWORD": "env-password",
        "PAYMENT_PORT": "9202",
        "POSTGRES_PORT": "15432",
        "ANALYZER_PORT": "18004-18005",
        "COMPOSE_PROJECT_NAME": "aiops-e2e-abc",
    }
    settings = StackSettings.from_env(repo_with_dotenv(tmp_path), environ=environ)
    assert settings.require_chaos_token() == "env-token"
    assert settings.url("payment") == "http://127.0.0.1:9202"
    assert settings.url("analyzer") == "http://127.0.0.1:18004"  # the first of the range
    assert settings.database_url == "postgresql://aiops:env-password@127.0.0.1:15432/aiops"
    assert settings.compose_command("start", "payment") == [
        "docker",
        "compose",
        "-p",
        "aiops-e2e-abc",
        "start",
        "payment",
    ]


def test_a_token_neither_set_nor_generated_says_how_to_get_one(tmp_path: Path) -> None:
    """No AIOPS_CHAOS_TOKEN anywhere and no stack to read the generated one from (a real
    `docker compose exec` that fails): the error names the variable and `make up`."""
    settings = StackSettings.from_env(repo_with_dotenv(tmp_path, "POSTGRES_PASSWORD=x\n"), {})
    with pytest.raises(StackError) as caught:
        settings.require_chaos_token()
    message = str(caught.value)
    assert message.startswith(
        "AIOPS_CHAOS_TOKEN is not set (environment or .env) and the stack's generated "
        "chaos_token cannot be read ("
    )
    assert message.endswith("start the stack with `make up`, or export AIOPS_CHAOS_TOKEN")


def test_no_dotenv_at_all_is_not_an_error_until_a_secret_is_needed(tmp_path: Path) -> None:
    """Without .env the defaults apply; asking for the database then names POSTGRES_PASSWORD."""
    settings = StackSettings.from_env(tmp_path, environ={})
    assert settings.url("inventory") == "http://127.0.0.1:8003"
    with pytest.raises(StackError, match="POSTGRES_PASSWORD is not set"):
        _ = settings.database_url


def test_a_port_that_is_not_one_is_named(tmp_path: Path) -> None:
    """A malformed port variable fails with its name and value."""
    with pytest.raises(StackError, match=r"CHECKOUT_PORT='eighty' is not a port"):
        StackSettings.from_env(tmp_path, environ={"CHECKOUT_PORT": "eighty"})


async def test_a_stack_that_is_not_running_says_to_start_it(tmp_path: Path) -> None:
    """Nothing listens on any port: the health check says `make up`, naming each service."""
    ports = {name: str(free_port()) for name in ("CHECKOUT", "PAYMENT", "INVENTORY", "ANALYZER")}
    environ = {f"{name}_PORT": port for name, port in ports.items()}
    settings = StackSettings.from_env(tmp_path, environ=environ)
    async with Stack(settings) as stack:
        with pytest.raises(StackError) as caught:
            await stack.check_health()
    message = str(caught.value)
    assert message.startswith("the stack is not running: start it with `make up`")
    for service in ("checkout", "payment", "inventory", "analyzer"):
        assert f"{service} does not answer" in message
