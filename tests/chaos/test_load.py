"""The traffic generator: a steady mix against the real shop, stopping by itself."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest

from aiops_chaos.cli import build_parser, main
from aiops_chaos.load import KINDS, PRICES, LoadConfig, LoadStats, Mix, run_load
from tests.conftest import Shop
from tests.support.fake_http import fake_server
from tests.support.processes import free_port
from tests.support.telemetry_rows import wait_for_rows

TRACE_ID = re.compile(r"load-[0-9a-f]{24}")


def shop_config(shop: Shop, **settings: Any) -> LoadConfig:
    return LoadConfig(
        checkout_url=shop.checkout.url,
        payment_url=shop.payment.url,
        inventory_url=shop.inventory.url,
        **settings,
    )


def config_at(url: str, **settings: Any) -> LoadConfig:
    """Every service at one URL (a fake peer, or nobody)."""
    return LoadConfig(checkout_url=url, payment_url=url, inventory_url=url, **settings)


async def cli_load(checkout: str, payment: str, inventory: str) -> int:
    """`load --rate 20 --duration 1 --seed 4` at these URLs; its exit status.

    In a thread, as from a shell: main() runs its own event loop.
    """
    argv = ["load", "--rate", "20", "--duration", "1", "--seed", "4"]
    argv += ["--checkout", checkout, "--payment", payment, "--inventory", inventory]
    return await asyncio.to_thread(main, argv)


async def test_a_short_run_sends_the_whole_mix_about_at_rate_and_stops_by_itself(
    shop: Shop,
) -> None:
    """50/s for 2 s: ~100 requests of every kind, 2xx (402 for declined cards), then it returns."""
    config = shop_config(shop, rate=50, duration_s=2, seed=7, declined_share=0.25)

    stats = await run_load(config)

    assert 40 <= stats.sent <= 200  # 40 % to 200 % of rate x duration: arrivals are random
    assert stats.skipped == 0
    assert stats.in_flight == 0
    assert stats.elapsed_s >= stats.sending_s >= config.duration_s  # ran its course, then ended
    assert {kind for kind, _ in stats.by_status} == set(KINDS)
    assert sum(stats.by_status.values()) == stats.sent
    checkout = {status for kind, status in stats.by_status if kind == "checkout"}
    others = {status for kind, status in stats.by_status if kind != "checkout"}
    assert checkout == {200, 402}
    assert others == {200}
    assert stats.errors == {}
    assert stats.failed == 0
    for kind in KINDS:
        latency = stats.latency[kind]
        assert latency.count == sum(n for (k, _), n in stats.by_status.items() if k == kind)
        assert 0 < latency.p50_ms <= latency.p95_ms <= latency.p99_ms
    summary = stats.summary()
    assert all(kind in summary for kind in KINDS)
    assert f"{stats.sent} sent" in summary


async def test_load_traffic_lands_in_telemetry_under_load_trace_ids(
    shop: Shop, db: asyncpg.Connection
) -> None:
    """Every request carries X-Trace-Id load-<hex>, so its rows are easy to find."""
    since = datetime.now(UTC)
    stats = await run_load(shop_config(shop, rate=20, duration_s=1, seed=3))

    rows = await wait_for_rows(
        db,
        "trace_id LIKE 'load-%' AND kind = 'server' AND parent_span_id IS NULL"
        ' AND "timestamp" >= $1',
        since,
        count=stats.sent,
    )

    assert stats.sent > 0
    assert len(rows) == stats.sent
    assert all(TRACE_ID.fullmatch(row["trace_id"]) for row in rows)
    assert len({row["trace_id"] for row in rows}) == stats.sent


async def test_requests_have_the_shapes_of_the_shops_api() -> None:
    """Checkouts buy 1 to 3 distinct stocked SKUs, 1 or 2 each, at the basket's price, in USD."""
    async with fake_server(status=200) as server:
        config = config_at(server.url, rate=200, duration_s=1, seed=11)
        stats = await run_load(config)

    bodies = [json.loads(body) for body in server.bodies if body]
    checkouts = [body for body in bodies if "items" in body]
    payments = [body for body in bodies if "items" not in body]
    assert len(server.headers) == stats.sent
    assert all(TRACE_ID.fullmatch(headers["x-trace-id"]) for headers in server.headers)
    assert checkouts
    assert payments
    for order in checkouts:
        skus = [line["sku"] for line in order["items"]]
        assert 1 <= len(skus) == len(set(skus)) <= 3
        assert set(skus) <= set(config.basket_skus)
        assert all(line["quantity"] in (1, 2) for line in order["items"])
        price = sum(PRICES[line["sku"]] * line["quantity"] for line in order["items"])
        assert order["amount"] == pytest.approx(price)
        assert order["currency"] == "USD"
        assert order.get("card_token") in (None, "tok_declined")
    for payment in payments:
        assert set(payment) == {"amount", "currency"}
        assert payment["amount"] > 0
        assert payment["currency"] == "USD"


async def test_a_stop_event_ends_a_run_early(shop: Shop) -> None:
    """An hour-long run ends as soon as `stop` is set, with what it sent so far."""
    stop = asyncio.Event()
    seen: list[LoadStats] = []

    def progress(stats: LoadStats) -> None:
        seen.append(stats)
        if stats.sent >= 5:
            stop.set()

    config = shop_config(shop, rate=50, duration_s=3600, seed=5)
    stats = await run_load(config, stop=stop, on_progress=progress, progress_every_s=0.05)

    assert stop.is_set()
    assert stats.sent >= 5
    assert stats.in_flight == 0
    assert stats.failed == 0
    assert [s.sent for s in seen] == sorted(s.sent for s in seen)  # progress only grows


async def test_a_run_stopped_before_it_starts_sends_nothing() -> None:
    """`stop` already set: nothing is sent, and the run still returns its (empty) stats."""
    stop = asyncio.Event()
    stop.set()

    config = config_at(f"http://127.0.0.1:{free_port()}")
    stats = await run_load(config, stop=stop)

    assert (stats.sent, stats.skipped, dict(stats.by_status)) == (0, 0, {})


async def test_in_flight_requests_are_bounded_and_the_rest_skipped() -> None:
    """A peer that never answers holds max_in_flight requests; later arrivals are skipped."""
    async with fake_server(mode="hang") as server:
        config = config_at(
            server.url,
            rate=100,
            duration_s=0.5,
            timeout_s=0.3,
            max_in_flight=3,
            mix=Mix(checkout=0, inventory_item=0, inventory_list=0, payment=1),
            seed=2,
        )
        stats = await run_load(config)

    assert stats.skipped > 0
    assert stats.sent > 0
    assert stats.by_status == {("payment", 0): stats.sent}  # each one timed out
    assert stats.errors == {"timeout": stats.sent}
    assert stats.in_flight == 0
    assert "timeout" in stats.summary()


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"rate": 0}, "rate"),
        ({"rate": 1001}, "rate"),
        ({"rate": float("nan")}, "rate"),
        ({"duration_s": 0}, "duration_s"),
        ({"duration_s": 86_401}, "duration_s"),
        ({"duration_s": float("inf")}, "duration_s"),
        ({"think_sigma": -0.1}, "think_sigma"),
        ({"timeout_s": 0}, "timeout_s"),
        ({"declined_share": 1.5}, "declined_share"),
        ({"max_in_flight": 0}, "max_in_flight"),
        ({"basket_skus": ()}, "basket_skus"),
        ({"checkout_url": "localhost:8001"}, "checkout_url"),
        ({"payment_url": "ftp://payment"}, "payment_url"),
        ({"inventory_url": "http://"}, "inventory_url"),
    ],
)
def test_config_rejects_invalid_values_naming_the_field(
    settings: dict[str, Any], field: str
) -> None:
    """A bad value is a ValueError that says which field."""
    with pytest.raises(ValueError, match=rf"^{field} "):
        LoadConfig(**settings)


def test_mix_rejects_negative_or_all_zero_weights() -> None:
    """Weights are finite and ≥ 0, and at least one is above 0."""
    with pytest.raises(ValueError, match=r"^mix\.payment "):
        Mix(payment=-1)
    with pytest.raises(ValueError, match=r"^mix "):
        Mix(checkout=0, inventory_item=0, inventory_list=0, payment=0)


def test_config_defaults_are_the_documented_mix() -> None:
    """Checkout 0.6, item lookup 0.25, list 0.05, payment 0.10; sigma 0.5, 10 s, 2 % declined."""
    config = LoadConfig()

    assert config.mix.weights() == [0.6, 0.25, 0.05, 0.10]
    assert (config.think_sigma, config.timeout_s, config.declined_share) == (0.5, 10.0, 0.02)


def test_cli_defaults_come_from_the_environment() -> None:
    """AIOPS_LOAD_RATE, AIOPS_LOAD_DURATION and the AIOPS_*_URL set the defaults; flags win."""
    env = {
        "AIOPS_LOAD_RATE": "5",
        "AIOPS_LOAD_DURATION": "7",
        "AIOPS_CHECKOUT_URL": "http://checkout:8000",
        "AIOPS_PAYMENT_URL": "http://payment:8000",
        "AIOPS_INVENTORY_URL": "http://inventory:8000",
    }
    from_env = build_parser(env).parse_args(["load"])
    flags = build_parser(env).parse_args(["load", "--rate", "2.5"])
    bare = build_parser({}).parse_args(["load"])

    assert (from_env.rate, from_env.duration, from_env.checkout) == (
        5.0,
        7.0,
        "http://checkout:8000",
    )
    assert (from_env.payment, from_env.inventory) == (
        "http://payment:8000",
        "http://inventory:8000",
    )
    assert flags.rate == 2.5
    assert (bare.rate, bare.duration, bare.checkout) == (10.0, 60.0, "http://localhost:8001")
    assert (bare.payment, bare.inventory) == ("http://localhost:8002", "http://localhost:8003")


async def test_cli_load_against_the_shop_exits_0_with_a_summary(
    shop: Shop, capsys: pytest.CaptureFixture[str]
) -> None:
    """`load --rate 20 --duration 1` runs, prints the table and exits 0."""
    status = await cli_load(shop.checkout.url, shop.payment.url, shop.inventory.url)

    out = capsys.readouterr()
    assert status == 0
    assert "checkout" in out.out
    assert "p95 ms" in out.out
    assert " sent in " in out.out
    assert "stack seems down" not in out.err


async def test_cli_load_with_nothing_listening_exits_1_saying_the_stack_seems_down(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Every request refused: exit 1, the summary, and how to start the stack."""
    url = f"http://127.0.0.1:{free_port()}"

    status = await cli_load(url, url, url)

    out = capsys.readouterr()
    assert status == 1
    assert "connect_error" in out.out
    assert "stack seems down" in out.err
    assert "make up" in out.err


async def test_cli_load_against_a_shop_answering_only_5xx_exits_1_pointing_at_the_logs(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Every answer a 500: exit 1, and the hint says the stack is up but broken."""
    async with fake_server(status=500) as server:
        status = await cli_load(server.url, server.url, server.url)

    err = capsys.readouterr().err
    assert status == 1
    assert "make logs" in err
    assert "stack seems down" not in err


def test_cli_rejects_an_invalid_rate_with_status_2(capsys: pytest.CaptureFixture[str]) -> None:
    """A rate the config refuses is a usage error naming the field, before anything is sent."""
    status = main(["load", "--rate", "0"])

    assert status == 2
    assert "rate" in capsys.readouterr().err
