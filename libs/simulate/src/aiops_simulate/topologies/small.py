"""Three small systems with one shape each: a deep chain, a wide fan-out, a diamond."""

from __future__ import annotations

from aiops_simulate.topology import Call, Entry, Op, Topology


def _par(target: str, *, optional: bool = False, timeout_ms: float = 3000.0) -> Call:
    """A call made alongside the one before it."""
    return Call(target, optional=optional, timeout_ms=timeout_ms, parallel=True)


CHAIN6 = Topology(
    name="chain6",
    description="a six-deep call chain: edge > api > orders > stock > pricing > rates",
    databases=("orders-db", "rates-db"),
    caches=("rates-cache",),
    entries=(
        Entry("edge GET /api/orders/{id}", 5.0),
        Entry("edge POST /api/orders", 2.0),
        Entry("edge GET /api/status", 1.5),
        Entry("rates POST /internal/refresh", period_s=60.0),
    ),
    ops=(
        Op("edge", "GET /api/orders/{id}", 1.0, 0.3, calls=(Call("api GET /v1/orders/{id}"),)),
        Op("edge", "POST /api/orders", 1.5, 0.3, calls=(
            Call("api POST /v1/orders", timeout_ms=8000.0),
        )),
        Op("edge", "GET /api/status", 0.5, 0.3, errors=0.0),
        Op("api", "GET /v1/orders/{id}", 2.0, 0.4, calls=(Call("orders GET /orders/{id}"),)),
        Op("api", "POST /v1/orders", 3.0, 0.4, internal="validate order", calls=(
            Call("orders POST /orders", timeout_ms=6000.0),
        )),
        Op("orders", "GET /orders/{id}", 2.0, 0.4, calls=(
            Call("orders-db SELECT orders"),
            Call("stock GET /stock/{sku}"),
        )),
        Op("orders", "POST /orders", 4.0, 0.5, errors=0.002, calls=(
            Call("stock POST /stock/reserve", retries=1),
            Call("orders-db INSERT orders"),
        )),
        Op("stock", "GET /stock/{sku}", 1.5, 0.4, calls=(Call("pricing GET /prices/{sku}"),)),
        Op("stock", "POST /stock/reserve", 3.0, 0.5, calls=(
            Call("pricing GET /prices/{sku}"),
            Call("orders-db UPDATE stock"),
        )),
        Op("pricing", "GET /prices/{sku}", 2.0, 0.5, calls=(Call("rates GET /rates/{currency}"),)),
        Op("rates", "GET /rates/{currency}", 1.0, 0.4, calls=(
            Call("rates-cache GET rate"),
            Call("rates-db SELECT rates", p=0.2),
        )),
        Op("rates", "POST /internal/refresh", 150.0, 0.3, errors=0.0, calls=(
            Call("rates-db UPDATE rates", timeout_ms=10_000.0),
        )),
        Op("orders-db", "SELECT orders", 1.5, 0.5, errors=0.0002),
        Op("orders-db", "INSERT orders", 3.0, 0.6, errors=0.0005),
        Op("orders-db", "UPDATE stock", 2.5, 0.7, errors=0.0005),
        Op("rates-db", "SELECT rates", 2.0, 0.4, errors=0.0002),
        Op("rates-db", "UPDATE rates", 800.0, 0.3, errors=0.0),
        Op("rates-cache", "GET rate", 0.3, 0.3, errors=0.0),
    ),
)  # fmt: skip

_HOME = (
    "profile GET /profiles/{id}",
    "feed GET /feed",
    "notifications GET /notifications",
    "friends GET /friends",
    "messages GET /messages/unread",
    "settings GET /settings",
)
_WIDGETS = ("ads GET /ads", "weather GET /weather", "news GET /news", "trends GET /trends")

FANOUT15 = Topology(
    name="fanout15",
    description="a backend-for-frontend fanning out to fourteen services in parallel",
    databases=("profile-db", "feed-db"),
    caches=("bff-cache",),
    entries=(
        Entry("bff GET /api/home", 3.0),
        Entry("bff GET /api/profile/{id}", 2.0),
        Entry("bff GET /api/search", 1.5),
        Entry("bff POST /api/photos", 0.3),
    ),
    ops=(
        Op("bff", "GET /api/home", 3.0, 0.4, internal="compose page", calls=(
            Call("bff-cache GET session"),
            *(_par(t) for t in _HOME),
            *(_par(t, optional=True, timeout_ms=400.0) for t in _WIDGETS),
        )),
        Op("bff", "GET /api/profile/{id}", 2.0, 0.4, calls=(
            Call("bff-cache GET session"),
            Call("profile GET /profiles/{id}"),
            _par("photos GET /photos"),
            _par("friends GET /friends"),
        )),
        Op("bff", "GET /api/search", 2.0, 0.4, calls=(Call("search GET /search"),)),
        Op("bff", "POST /api/photos", 5.0, 0.4, calls=(
            Call("media POST /media/upload", timeout_ms=10_000.0),
            Call("photos POST /photos"),
        )),
        Op("profile", "GET /profiles/{id}", 2.0, 0.4, calls=(Call("profile-db SELECT profiles"),)),
        Op("feed", "GET /feed", 12.0, 0.6, errors=0.002, calls=(
            Call("feed-db SELECT posts"),
            Call("media GET /media/{id}", repeat=3),
        )),
        Op("notifications", "GET /notifications", 3.0, 0.5),
        Op("friends", "GET /friends", 4.0, 0.5, calls=(Call("profile-db SELECT friends"),)),
        Op("messages", "GET /messages/unread", 2.5, 0.5),
        Op("settings", "GET /settings", 1.0, 0.3, calls=(Call("profile-db SELECT settings"),)),
        Op("ads", "GET /ads", 6.0, 0.8, errors=0.005),
        Op("weather", "GET /weather", 40.0, 0.5, errors=0.005),
        Op("news", "GET /news", 8.0, 0.6, errors=0.002),
        Op("trends", "GET /trends", 5.0, 0.5, calls=(Call("feed-db SELECT trending"),)),
        Op("photos", "GET /photos", 3.0, 0.5, calls=(Call("media GET /media/{id}", repeat=2),)),
        Op("photos", "POST /photos", 4.0, 0.5, calls=(Call("feed-db INSERT posts"),)),
        Op("media", "GET /media/{id}", 1.5, 0.6),
        Op("media", "POST /media/upload", 180.0, 0.5, errors=0.003, internal="resize image"),
        Op("search", "GET /search", 15.0, 0.7, errors=0.002, calls=(
            Call("profile GET /profiles/{id}", p=0.5),
            Call("geo GET /geo/resolve", p=0.3),
        )),
        Op("geo", "GET /geo/resolve", 4.0, 0.5),
        Op("profile-db", "SELECT profiles", 1.2, 0.5, errors=0.0002),
        Op("profile-db", "SELECT friends", 3.0, 0.6, errors=0.0002),
        Op("profile-db", "SELECT settings", 0.8, 0.4, errors=0.0002),
        Op("feed-db", "SELECT posts", 6.0, 0.6, errors=0.0005),
        Op("feed-db", "SELECT trending", 4.0, 0.5, errors=0.0002),
        Op("feed-db", "INSERT posts", 3.0, 0.5, errors=0.0005),
        Op("bff-cache", "GET session", 0.3, 0.3, errors=0.0),
    ),
)  # fmt: skip

DIAMOND12 = Topology(
    name="diamond12",
    description="accounts, one shared dependency reached by two paths (orders > billing, users)",
    databases=("accounts-db", "orders-db", "users-db"),
    caches=("auth-cache",),
    entries=(
        Entry("gateway GET /api/orders/{id}", 3.0),
        Entry("gateway POST /api/orders", 1.0),
        Entry("gateway GET /api/account", 2.0),
        Entry("gateway GET /api/catalog", 3.0),
        Entry("ledger POST /internal/reconcile", period_s=60.0),
    ),
    ops=(
        Op("gateway", "GET /api/orders/{id}", 1.0, 0.3, calls=(
            Call("auth GET /auth/verify"),
            Call("orders GET /orders/{id}"),
        )),
        Op("gateway", "POST /api/orders", 1.5, 0.3, calls=(
            Call("auth GET /auth/verify"),
            Call("orders POST /orders", timeout_ms=8000.0),
            Call("audit consume audit-events"),
        )),
        Op("gateway", "GET /api/account", 1.0, 0.3, calls=(
            Call("auth GET /auth/verify"),
            Call("users GET /users/me"),
        )),
        Op("gateway", "GET /api/catalog", 1.0, 0.3, calls=(
            Call("catalog GET /items"),
            _par("search GET /search/suggest", optional=True, timeout_ms=300.0),
        )),
        Op("auth", "GET /auth/verify", 0.8, 0.3, calls=(Call("auth-cache GET token"),)),
        Op("orders", "GET /orders/{id}", 2.0, 0.4, calls=(
            Call("orders-db SELECT orders"),
            Call("billing GET /invoices/{id}"),
        )),
        Op("orders", "POST /orders", 4.0, 0.5, errors=0.002, calls=(
            Call("inventory POST /stock/reserve"),
            Call("billing POST /invoices", retries=1, timeout_ms=5000.0),
            Call("orders-db INSERT orders"),
            Call("notify consume order-events"),
        )),
        Op("billing", "GET /invoices/{id}", 2.0, 0.4, calls=(Call("accounts GET /accounts/{id}"),)),
        Op("billing", "POST /invoices", 6.0, 0.5, calls=(
            Call("accounts POST /accounts/{id}/charge"),
            Call("ledger POST /ledger/entries"),
        )),
        Op("users", "GET /users/me", 1.5, 0.4, calls=(
            Call("users-db SELECT users"),
            Call("accounts GET /accounts/{id}"),
        )),
        Op("accounts", "GET /accounts/{id}", 2.0, 0.5, calls=(
            Call("accounts-db SELECT accounts"),
        )),
        Op("accounts", "POST /accounts/{id}/charge", 8.0, 0.5, errors=0.003, calls=(
            Call("accounts-db UPDATE balances"),
        )),
        Op("inventory", "POST /stock/reserve", 3.0, 0.5, calls=(
            Call("orders-db UPDATE stock"),
        )),
        Op("catalog", "GET /items", 4.0, 0.5, calls=(
            Call("inventory GET /stock", p=0.5),
        )),
        Op("inventory", "GET /stock", 1.5, 0.4, calls=(Call("orders-db SELECT stock"),)),
        Op("search", "GET /search/suggest", 6.0, 0.7, errors=0.003),
        Op("ledger", "POST /ledger/entries", 3.0, 0.5, calls=(Call("accounts-db INSERT entries"),)),
        Op("ledger", "POST /internal/reconcile", 400.0, 0.3, errors=0.0, calls=(
            Call("accounts-db SELECT entries JOIN balances", timeout_ms=20_000.0),
        )),
        Op("notify", "consume order-events", 10.0, 0.6, errors=0.002),
        Op("audit", "consume audit-events", 1.0, 0.4),
        Op("accounts-db", "SELECT accounts", 1.2, 0.5, errors=0.0002),
        Op("accounts-db", "UPDATE balances", 3.0, 0.7, errors=0.0005),
        Op("accounts-db", "INSERT entries", 2.0, 0.5, errors=0.0005),
        Op("accounts-db", "SELECT entries JOIN balances", 2000.0, 0.25, errors=0.0),
        Op("orders-db", "SELECT orders", 1.5, 0.5, errors=0.0002),
        Op("orders-db", "INSERT orders", 3.0, 0.6, errors=0.0005),
        Op("orders-db", "UPDATE stock", 2.5, 0.6, errors=0.0005),
        Op("orders-db", "SELECT stock", 1.0, 0.4, errors=0.0002),
        Op("users-db", "SELECT users", 1.0, 0.4, errors=0.0002),
        Op("auth-cache", "GET token", 0.3, 0.3, errors=0.0),
    ),
)  # fmt: skip
