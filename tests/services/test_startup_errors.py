"""A service whose login is refused stops at once with one line that says what to do."""

from __future__ import annotations

import json

import pytest
import redis

from analyzer.app import REFUSED_REDIS_LOGIN
from tests.conftest import service_env
from tests.support.processes import ServiceProcess

# Every app that logs in to PostgreSQL (checkout too: its void ledger is there).
APPS = [
    "payment.app:create_app",
    "inventory.app:create_app",
    "checkout.app:create_app",
    "analyzer.app:create_app",
]


def failed_start(app: str, env: dict[str, str]) -> str:
    """What the process printed before it exited at start (it must not get healthy)."""
    process = ServiceProcess(app, env)
    with pytest.raises(RuntimeError, match="exited at start") as caught:
        process.start(timeout=20)
    return str(caught.value)


def errors(output: str) -> list[str]:
    """The message of each ERROR line (a service off a terminal logs JSON lines)."""
    messages = []
    for line in output.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue  # the first line may be cut short; the rest is JSON
        if record["level"] == "error":
            messages.append(record["message"])
    return messages


@pytest.mark.parametrize("app", APPS)
def test_a_wrong_database_password_is_one_clear_line(
    app: str, database_url: str, redis_url: str
) -> None:
    """AIOPS_DATABASE_PASSWORD (which wins over the URL's) is wrong: no traceback, one ERROR
    line naming the cause and the two ways out, then uvicorn's own exit line."""
    output = failed_start(
        app, service_env(database_url, AIOPS_DATABASE_PASSWORD="wrong", AIOPS_REDIS_URL=redis_url)
    )
    assert "Traceback" not in output
    *reasons, last = errors(output)
    assert last == "Application startup failed. Exiting."
    [reason] = reasons
    assert (
        'PostgreSQL refused the login (password authentication failed for user "aiops")' in reason
    )
    assert "keep the old .env" in reason
    assert "`make down V=1`" in reason


def test_a_wrong_redis_password_stops_the_analyzer_with_one_line(
    database_url: str, redis_url: str
) -> None:
    """Redis (here made to want a password for the test's length) refuses the analyzer's AUTH:
    the start fails on that one reason. An unreachable Redis would not: the analyzer runs
    degraded until it is back."""
    admin = redis.Redis.from_url(redis_url)
    admin.config_set("requirepass", "the-right-one")
    try:
        output = failed_start(
            "analyzer.app:create_app",
            service_env(database_url, AIOPS_REDIS_URL=redis_url, AIOPS_REDIS_PASSWORD="wrong"),
        )
    finally:
        with redis.Redis.from_url(redis_url, password="the-right-one") as restore:
            restore.config_set("requirepass", "")
        admin.close()
    assert "Traceback" not in output
    [reason] = [message for message in errors(output) if "Redis refused" in message]
    assert reason.startswith("Redis refused the analyzer's login (")
    assert reason.endswith(REFUSED_REDIS_LOGIN.split("}")[-1])
