"""shop10: a web shop of ten services, after the OpenTelemetry demo and Online Boutique."""

from __future__ import annotations

from aiops_simulate.topology import Call, Entry, Op, Topology

DB, CACHE = "shop-db", "cart-cache"


def _par(target: str, *, optional: bool = False, timeout_ms: float = 3000.0) -> Call:
    """A call made alongside the one before it."""
    return Call(target, optional=optional, timeout_ms=timeout_ms, parallel=True)


SHOP10 = Topology(
    name="shop10",
    description="web shop: frontend, cart, catalog, checkout, payment, shipping, currency, email, "
    "recommendation, ad; a database and a cache",
    databases=(DB,),
    caches=(CACHE,),
    spans_per_s=120.0,
    entries=(
        Entry("frontend GET /", 3.0),
        Entry("frontend GET /product/{id}", 5.0),
        Entry("frontend POST /cart", 1.2),
        Entry("frontend GET /cart", 1.0),
        Entry("frontend POST /cart/checkout", 0.35),
        Entry("frontend GET /orders/{id}", 0.3),
        Entry("catalog POST /internal/reindex", period_s=60.0),  # the nightly job, every minute
    ),
    ops=(
        Op("frontend", "GET /", 4.0, 0.5, internal="render home", calls=(
            Call("currency GET /api/currencies"),
            Call("catalog GET /api/products"),
            _par("cart GET /api/cart"),
            _par("ad GET /api/ads", optional=True, timeout_ms=500.0),
        )),
        Op("frontend", "GET /product/{id}", 3.0, 0.5, internal="render product", calls=(
            Call("catalog GET /api/products/{id}"),
            Call("currency POST /api/convert"),
            _par("recommendation GET /api/recommendations", optional=True, timeout_ms=1000.0),
            _par("ad GET /api/ads", optional=True, timeout_ms=500.0),
            _par("cart GET /api/cart"),
        )),
        Op("frontend", "POST /cart", 2.0, 0.4, calls=(
            Call("catalog GET /api/products/{id}"),
            Call("cart POST /api/cart/items", retries=1),
        )),
        Op("frontend", "GET /cart", 3.0, 0.5, internal="render cart", calls=(
            Call("cart GET /api/cart"),
            _par("recommendation GET /api/recommendations", optional=True, timeout_ms=1000.0),
            Call("shipping POST /api/quote"),
            Call("currency POST /api/convert", repeat=3),
        )),
        Op("frontend", "POST /cart/checkout", 5.0, 0.4, errors=0.002, calls=(
            Call("checkout POST /api/checkout", timeout_ms=10_000.0),
        )),
        Op("frontend", "GET /orders/{id}", 2.0, 0.4, calls=(
            Call("checkout GET /api/orders/{id}"),
            Call("currency POST /api/convert"),
        )),
        Op("catalog", "GET /api/products", 5.0, 0.4, calls=(
            Call(f"{CACHE} GET products"),
            Call(f"{DB} SELECT products", p=0.3),
        )),
        Op("catalog", "GET /api/products/{id}", 1.5, 0.5, calls=(
            Call(f"{CACHE} GET product"),
            Call(f"{DB} SELECT products WHERE id", p=0.15),
        )),
        Op("catalog", "POST /internal/reindex", 300.0, 0.3, errors=0.0, calls=(
            Call(f"{DB} SELECT products JOIN stock", timeout_ms=30_000.0),
            Call(f"{CACHE} MSET products"),
        )),
        Op("cart", "GET /api/cart", 1.0, 0.4, calls=(Call(f"{CACHE} HGETALL cart"),)),
        Op("cart", "POST /api/cart/items", 1.5, 0.4, calls=(Call(f"{CACHE} HSET cart"),)),
        Op("cart", "DELETE /api/cart", 1.0, 0.3, calls=(Call(f"{CACHE} DEL cart"),)),
        Op("currency", "GET /api/currencies", 0.8, 0.3, errors=0.0005),
        Op("currency", "POST /api/convert", 0.6, 0.3, errors=0.0005),
        Op("recommendation", "GET /api/recommendations", 8.0, 0.7, errors=0.003,
           internal="score products", calls=(Call("catalog GET /api/products"),)),
        Op("ad", "GET /api/ads", 2.0, 0.6, errors=0.004),
        Op("shipping", "POST /api/quote", 3.0, 0.4),
        Op("shipping", "POST /api/ship", 12.0, 0.5, errors=0.002),
        Op("checkout", "POST /api/checkout", 10.0, 0.4, errors=0.002, calls=(
            Call("cart GET /api/cart"),
            Call("catalog GET /api/products/{id}", repeat=4),
            Call("currency POST /api/convert"),
            Call("shipping POST /api/quote"),
            Call("payment POST /api/charge", retries=1, timeout_ms=5000.0),
            Call("shipping POST /api/ship"),
            Call(f"{DB} INSERT orders"),
            _par("cart DELETE /api/cart", optional=True),
            _par("email POST /api/confirmation", optional=True),
        )),
        Op("checkout", "GET /api/orders/{id}", 2.0, 0.4, calls=(
            Call(f"{DB} SELECT orders"),
        )),
        Op("payment", "POST /api/charge", 40.0, 0.6, errors=0.005, internal="card gateway"),
        Op("email", "POST /api/confirmation", 15.0, 0.5, errors=0.003, internal="render email"),
        Op(DB, "SELECT products", 4.0, 0.5, errors=0.0002),
        Op(DB, "SELECT products WHERE id", 1.2, 0.5, errors=0.0002),
        Op(DB, "SELECT products JOIN stock", 1500.0, 0.25, errors=0.0),
        Op(DB, "INSERT orders", 3.0, 0.6, errors=0.0005),
        Op(DB, "SELECT orders", 1.5, 0.5, errors=0.0002),
        Op(CACHE, "GET products", 0.3, 0.3, errors=0.0),
        Op(CACHE, "GET product", 0.3, 0.3, errors=0.0),
        Op(CACHE, "MSET products", 2.0, 0.3, errors=0.0),
        Op(CACHE, "HGETALL cart", 0.3, 0.3, errors=0.0),
        Op(CACHE, "HSET cart", 0.35, 0.3, errors=0.0),
        Op(CACHE, "DEL cart", 0.3, 0.3, errors=0.0),
    ),
)  # fmt: skip
