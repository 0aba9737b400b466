"""No secret in any log line: the shop and the analyzer as real processes, configured with
known passwords, a chaos token and webhook URLs, exercised (checkouts, faults, an incident
changed by hand, failing webhooks, refused logins), and their whole output read.

The same run checks the analyzer's own lines: one per cycle, one per incident change.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest
import redis
from redis.asyncio import Redis

from aiops_engine.incidents import IncidentPolicy
from aiops_engine.incidents.lifecycle import new_incident_id, open_incident
from aiops_telemetry._redact import MASK
from analyzer.incidents import IncidentStore
from analyzer.settings import AnalyzerSettings
from tests.analyzer.incidents.findings import T0, payment_errors
from tests.support.containers import ContainerRedis
from tests.support.fake_http import FakeServer, fake_server
from tests.support.polling import eventually
from tests.support.processes import ServiceProcess, free_port

ORDER = {"items": [{"sku": "SKU-001", "quantity": 1}], "amount": 19.99, "currency": "USD"}


def secret(name: str) -> str:
    return f"{name}-{secrets.token_hex(8)}"


PG_PASSWORD = secret("pg-pass")
WRONG_PG_PASSWORD = secret("wrong-pg")
CHAOS_TOKEN = secret("chaos-token")
REDIS_PASSWORD = secret("redis-pass")
WRONG_REDIS_PASSWORD = secret("wrong-redis")
READER_PASSWORD = secret("reader-pass")
WEBHOOK_TOKEN = secret("hook-token")
SLACK_TOKEN = secret("slack-token")
SECRETS = [
    PG_PASSWORD,
    WRONG_PG_PASSWORD,
    CHAOS_TOKEN,
    REDIS_PASSWORD,
    WRONG_REDIS_PASSWORD,
    READER_PASSWORD,
    WEBHOOK_TOKEN,
    SLACK_TOKEN,
]


@dataclass
class Run:
    outputs: dict[str, str]  # the whole output of each process
    incident_id: str
    webhook_port: int


@pytest.fixture(scope="module")
async def database(database_url: str) -> AsyncIterator[str]:
    """A login of its own with PG_PASSWORD, and a database it owns; the URL has no password."""
    name = f"logs_{secrets.token_hex(4)}"
    admin: asyncpg.Connection = await asyncpg.connect(database_url)
    await admin.execute(f"CREATE ROLE {name} LOGIN SUPERUSER PASSWORD '{PG_PASSWORD}'")
    await admin.execute(f"CREATE DATABASE {name} OWNER {name}")
    try:
        yield f"postgresql://{name}@{urlsplit(database_url).netloc.split('@')[-1]}/{name}"
    finally:
        await admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
        await admin.execute(f"DROP ROLE {name}")
        await admin.close()


@pytest.fixture(scope="module")
def locked_redis(redis_server: ContainerRedis) -> Iterator[str]:
    """The test Redis, wanting REDIS_PASSWORD for the module's length."""
    url = redis_server.reset()
    with redis.Redis.from_url(url) as admin:
        admin.config_set("requirepass", REDIS_PASSWORD)
    try:
        yield url
    finally:
        with redis.Redis.from_url(url, password=REDIS_PASSWORD) as admin:
            admin.config_set("requirepass", "")


def with_password(url: str, password: str) -> str:
    """`scheme://user@host/...` with `password` in it."""
    return url.replace("@", f":{password}@", 1)


def failed_start(app: str, env: dict[str, str]) -> str:
    process = ServiceProcess(app, env)
    with pytest.raises(RuntimeError, match="exited at start"):
        process.start(timeout=20)
    return process.output(tail=None)


async def exercise_shop(shop: dict[str, ServiceProcess]) -> None:
    """Checkouts, a fault injected into payment and taken out, a chaos call with a bad token."""
    token = {"X-Chaos-Token": CHAOS_TOKEN}
    payment = shop["payment"].url
    async with httpx.AsyncClient(timeout=10) as client:
        checkout = f"{shop['checkout'].url}/checkout"
        assert (await client.post(checkout, json=ORDER)).status_code == 200
        fault = await client.post(
            f"{payment}/simulate/error", params={"endpoint": "/payment", "rate": 1.0}, headers=token
        )
        assert fault.is_success, fault.text
        assert (await client.post(checkout, json=ORDER)).status_code >= 500
        assert (await client.delete(f"{payment}/simulate", headers=token)).is_success
        refused = await client.delete(f"{payment}/simulate", headers={"X-Chaos-Token": "nope"})
        assert refused.status_code in (401, 403)
        assert (await client.post(checkout, json=ORDER)).status_code == 200


async def exercise_analyzer(analyzer: ServiceProcess, redis_url: str, hook: FakeServer) -> str:
    """An incident put in Redis, acknowledged and resolved through the API; the resolution
    goes to two webhooks that fail (a 500, and a port nobody listens on)."""
    now = datetime.now(UTC)
    incident = open_incident(
        payment_errors(at=(now - T0).total_seconds()),
        incident_id=new_incident_id(now, "beef"),
        now=now,
        policy=IncidentPolicy(),
    )
    async with Redis.from_url(redis_url, password=REDIS_PASSWORD) as redis_client:
        assert await IncidentStore(redis_client, ttl_s=600).create(incident)
    async with httpx.AsyncClient(base_url=analyzer.url, timeout=10) as client:
        for change in ("acknowledge", "resolve"):
            response = await client.post(f"/incidents/{incident.id}/{change}")
            assert response.status_code == 200, response.text

    async def both_deliveries_given_up() -> bool:
        return len(hook.bodies) == 2 and analyzer.output(tail=None).count("failed after 2") == 2

    await eventually(both_deliveries_given_up, within=20, what="two failed webhook deliveries")
    return incident.id


async def analyzer_read_rows(analyzer: ServiceProcess) -> bool:
    return any(
        r.get("rows") for r in records(analyzer.output(tail=None)) if "cycle" in r["message"]
    )


@pytest.fixture(scope="module")
async def run(database: str, locked_redis: str) -> AsyncIterator[Run]:
    redis_url = locked_redis
    env = {
        "AIOPS_LOG_FORMAT": "json",
        "AIOPS_LOG_LEVEL": "DEBUG",  # the most lines there are
        "AIOPS_TELEMETRY_FLUSH_INTERVAL": "0.1",
        "AIOPS_CHAOS_TOKEN": CHAOS_TOKEN,
    }
    in_url = {"AIOPS_DATABASE_URL": with_password(database, PG_PASSWORD)}
    apart = {"AIOPS_DATABASE_URL": database, "AIOPS_DATABASE_PASSWORD": PG_PASSWORD}
    processes: dict[str, ServiceProcess] = {}
    outputs: dict[str, str] = {}
    async with fake_server(status=500) as hook:
        try:
            processes["payment"] = ServiceProcess("payment.app:create_app", {**env, **in_url})
            processes["inventory"] = ServiceProcess("inventory.app:create_app", {**env, **apart})
            for process in processes.values():
                process.start()
            downstream = {
                "AIOPS_PAYMENT_URL": processes["payment"].url,
                "AIOPS_INVENTORY_URL": processes["inventory"].url,
            }
            processes["checkout"] = ServiceProcess(
                "checkout.app:create_app", {**env, **apart, **downstream}
            ).start()
            analyzer_env = {
                **env,
                **in_url,
                "AIOPS_REDIS_URL": redis_url,
                "AIOPS_REDIS_PASSWORD": REDIS_PASSWORD,
                "AIOPS_READER_PASSWORD": READER_PASSWORD,
                "AIOPS_ANALYSIS_INTERVAL": "1",
                "AIOPS_WEBHOOK_URLS": f"{hook.url}/hooks/{WEBHOOK_TOKEN}?token={WEBHOOK_TOKEN}",
                "AIOPS_SLACK_WEBHOOK_URLS": (
                    f"http://127.0.0.1:{free_port()}/services/T0/B0/{SLACK_TOKEN}"
                ),
                "AIOPS_WEBHOOK_RETRIES": "1",
            }
            processes["analyzer"] = ServiceProcess("analyzer.app:create_app", analyzer_env).start()

            await exercise_shop(processes)
            incident_id = await exercise_analyzer(processes["analyzer"], redis_url, hook)
            await eventually(
                lambda: analyzer_read_rows(processes["analyzer"]),
                within=30,
                what="a cycle that read the checkouts' spans",
            )

            outputs["refused-database-login"] = failed_start(
                "payment.app:create_app",
                {**env, **apart, "AIOPS_DATABASE_PASSWORD": WRONG_PG_PASSWORD},
            )
            wrong_redis = {  # this time in the URL, AIOPS_REDIS_PASSWORD unset
                **{k: v for k, v in analyzer_env.items() if k != "AIOPS_REDIS_PASSWORD"},
                "AIOPS_REDIS_URL": redis_url.replace("://", f"://:{WRONG_REDIS_PASSWORD}@"),
            }
            outputs["refused-redis-login"] = failed_start("analyzer.app:create_app", wrong_redis)
        finally:
            for process in processes.values():
                process.stop()
        outputs |= {name: process.output(tail=None) for name, process in processes.items()}
        yield Run(outputs, incident_id, hook.port)


def records(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines()]


def test_no_secret_appears_in_any_line(run: Run) -> None:
    """No password, token or webhook token in any process's output, started or refused."""
    for name, output in run.outputs.items():
        leaked = [s for s in SECRETS if s in output]
        assert not leaked, f"{name} logged {leaked}"


def test_no_line_even_needed_masking(run: Run) -> None:
    """The redaction is a safety net: the code itself never logs a secret or a URL with one."""
    for name, output in run.outputs.items():
        assert MASK not in output, (
            f"{name}: {[line for line in output.splitlines() if MASK in line]}"
        )


def test_every_line_is_json(run: Run) -> None:
    """Every line of every process, uvicorn's included, parses."""
    for output in run.outputs.values():
        assert records(output)


def test_refused_logins_are_logged_by_their_reason(run: Run) -> None:
    """The reason PostgreSQL and Redis gave, without the password tried."""
    database = records(run.outputs["refused-database-login"])
    assert any("PostgreSQL refused the login" in r["message"] for r in database)
    redis_login = records(run.outputs["refused-redis-login"])
    assert any("Redis refused the analyzer's login" in r["message"] for r in redis_login)


def test_failing_webhooks_are_logged_by_host_only(run: Run) -> None:
    """Both targets gave up after their retries; the lines name `scheme://host/…` only."""
    failures = [
        r for r in records(run.outputs["analyzer"]) if "failed after 2 attempts" in r["message"]
    ]
    messages = sorted(r["message"] for r in failures)
    assert len(messages) == 2
    assert any(f"webhook http://127.0.0.1:{run.webhook_port}/… failed" in m for m in messages)
    assert all(r["level"] == "warning" for r in failures)


def test_each_incident_change_is_logged_with_the_incident_id(run: Run) -> None:
    """Acknowledged and resolved through the API: one INFO line each, with the id."""
    changes = [
        r for r in records(run.outputs["analyzer"]) if r.get("incident_id") == run.incident_id
    ]
    assert [r["change"] for r in changes] == ["acknowledged", "resolved"]
    assert all(r["logger"] == "analyzer.incidents" and r["level"] == "info" for r in changes)


def test_the_analyzer_logs_one_info_line_per_cycle(run: Run) -> None:
    """Window, rows, keys, anomalies, incident counts and milliseconds as fields."""
    cycles = [
        r
        for r in records(run.outputs["analyzer"])
        if r["logger"] == "analyzer.loop" and r["message"].startswith("cycle ")
    ]
    assert len(cycles) >= 2
    for cycle in cycles:
        assert cycle["level"] == "info"
        assert cycle["window_start"] < cycle["window_end"]
        for field in ("rows", "keys", "anomalies", "incidents_opened", "incidents_updated"):
            assert isinstance(cycle[field], int)
        assert cycle["incidents_resolved"] >= 0
        assert cycle["milliseconds"] >= 0
    assert sum(c["rows"] for c in cycles) > 0  # the checkouts' spans were read


def test_analyzer_settings_name_every_secret_including_webhook_urls() -> None:
    """The redaction is handed every password, and the webhook URLs (their paths are tokens)."""
    settings = AnalyzerSettings(
        database_url="postgresql://aiops:in-url-pw@db/aiops",
        database_password="db-password",
        redis_password="redis-password",
        reader_password="reader-password",
        webhook_urls=["https://hooks.example/generic/tok"],
        slack_webhook_urls=["https://hooks.slack.example/services/T0/B0/x"],
    )
    assert set(settings.secret_values()) >= {
        "postgresql://aiops:in-url-pw@db/aiops",
        "db-password",
        "redis-password",
        "reader-password",
        "https://hooks.example/generic/tok",
        "https://hooks.slack.example/services/T0/B0/x",
    }
