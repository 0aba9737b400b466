"""The fault book as plain data: matching, rates, expiry, clearing."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from aiops_telemetry.chaos import FaultBook, FaultKind

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def book(seed: int = 1) -> FaultBook:
    return FaultBook(max_ttl_s=600, rng=random.Random(seed))


def test_a_fault_strikes_its_path_or_its_route_template_not_other_routes() -> None:
    faults = book()
    faults.add(FaultKind.ERROR, "/inventory/{sku}", now=NOW)
    assert faults.draw("/inventory/SKU-001", "/inventory/{sku}", NOW)
    assert not faults.draw("/inventory/reserve", "/inventory/reserve", NOW)
    faults.clear()
    faults.add(FaultKind.ERROR, "/inventory/SKU-002", now=NOW)
    assert faults.draw("/inventory/SKU-002", "/inventory/{sku}", NOW)
    assert not faults.draw("/inventory/SKU-001", "/inventory/{sku}", NOW)


def test_a_star_matches_every_endpoint() -> None:
    faults = book()
    faults.add(FaultKind.DELAY, "*", duration_ms=5, now=NOW)
    assert faults.draw("/payment", "/payment", NOW)
    assert faults.draw("/nowhere", None, NOW)


def test_a_partial_rate_strikes_about_that_share_of_requests() -> None:
    faults = book(seed=7)
    faults.add(FaultKind.ERROR, "/payment", rate=0.3, now=NOW)
    struck = sum(bool(faults.draw("/payment", "/payment", NOW)) for _ in range(10_000))
    assert 2_700 < struck < 3_300


def test_faults_expire_by_themselves_and_ttl_is_capped_at_the_maximum() -> None:
    faults = book()
    short = faults.add(FaultKind.ERROR, "/payment", ttl_s=5, now=NOW)
    capped = faults.add(FaultKind.ERROR, "/payment", ttl_s=10_000, now=NOW)
    default = faults.add(FaultKind.ERROR, "/payment", now=NOW)
    assert short.expires_at == NOW + timedelta(seconds=5)
    assert capped.expires_at == default.expires_at == NOW + timedelta(seconds=600)
    assert [f.id for f in faults.active(NOW + timedelta(seconds=6))] == [capped.id, default.id]
    assert faults.active(NOW + timedelta(seconds=601)) == []
    assert not faults.draw("/payment", "/payment", NOW + timedelta(seconds=601))


def test_clearing_by_endpoint_one_by_id_or_all() -> None:
    faults = book()
    pay = faults.add(FaultKind.ERROR, "/payment", now=NOW)
    faults.add(FaultKind.DELAY, "/inventory/reserve", duration_ms=100, now=NOW)
    faults.add(FaultKind.DELAY, "/inventory/reserve", duration_ms=200, now=NOW)
    assert faults.clear("/inventory/reserve") == 2
    assert faults.remove(pay.id)
    assert not faults.remove(pay.id)
    faults.add(FaultKind.HANG, "/payment", now=NOW)
    assert faults.clear() == 1
    assert faults.active(NOW) == []


def test_jitter_spreads_delays_around_the_duration_never_below_zero() -> None:
    faults = book()
    fault = faults.add(FaultKind.DELAY, "/payment", duration_ms=100, jitter_ms=150, now=NOW)
    delays = [faults.delay_s(fault) for _ in range(2_000)]
    assert min(delays) == 0.0
    assert 0.24 < max(delays) <= 0.25
