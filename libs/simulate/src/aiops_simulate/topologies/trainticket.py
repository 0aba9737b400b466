"""system40: forty services after TrainTicket, a railway booking benchmark system.

Searches fan out per trip to ticket info, basic data, seats and orders;
bookings touch a dozen services; two MySQL databases are shared by many
services; notifications and food deliveries go through a message queue.
"""

from __future__ import annotations

from aiops_simulate.topology import Call, Entry, Op, Topology

DB, ACCOUNTS, REDIS = "ts-mysql", "ts-account-mysql", "ts-redis"
V1 = "/api/v1"


def _op(service: str, name: str, ms: float, *calls: Call, **timing: float) -> Op:
    """An operation of `service`; routes are written without TrainTicket's /api/v1 prefix."""
    method, route = name.split(" ", 1)
    sigma, errors = timing.get("sigma", 0.5), timing.get("errors", 0.001)
    return Op(service, f"{method} {V1}{route}", ms, sigma, errors, tuple(calls))


def _call(target: str, **options: float) -> Call:
    service, method, route = target.split(" ", 2)
    if service in (DB, ACCOUNTS, REDIS) or method == "consume":
        return Call(target, p=options.get("p", 1.0))
    return Call(
        f"{service} {method} {V1}{route}",
        p=options.get("p", 1.0),
        optional=bool(options.get("optional", 0)),
        retries=int(options.get("retries", 0)),
        timeout_ms=options.get("timeout_ms", 5000.0),
        parallel=bool(options.get("parallel", 0)),
        repeat=int(options.get("repeat", 1)),
    )


_TRIP = (  # what a trip's details take: ticket info, then seats left
    _call("ts-ticketinfo POST /ticketinfoservice/ticketinfo"),
    _call("ts-seat POST /seatservice/seats/left_tickets"),
)
_BOOK = (  # the common part of a booking, on either kind of train
    _call("ts-security GET /securityservice/securityConfigs/{accountId}"),
    _call("ts-contacts GET /contactservice/contacts/{id}"),
    _call("ts-station GET /stationservice/stations/id/{name}", repeat=2),
    _call("ts-seat POST /seatservice/seats"),
    _call("ts-assurance POST /assuranceservice/assurances", p=0.5),
    _call("ts-food POST /foodservice/orders", p=0.4),
    _call("ts-consign POST /consignservice/consigns", p=0.2),
    _call("ts-user GET /userservice/users/id/{userId}"),
    _call("ts-notification consume preserve_success"),
)
_UI = "ts-ui-dashboard"
_ENTRIES = (  # (route of the dashboard and of the service behind it, service, weight)
    ("POST /travelservice/trips/left", "ts-travel", 5.0),
    ("POST /travel2service/trips/left", "ts-travel2", 2.0),
    ("POST /users/login", "ts-auth", 1.0),
    ("GET /contactservice/contacts/account/{id}", "ts-contacts", 1.0),
    ("POST /preserveservice/preserve", "ts-preserve", 0.6),
    ("POST /preserveotherservice/preserveOther", "ts-preserve-other", 0.25),
    ("POST /orderservice/order/refresh", "ts-order", 1.2),
    ("POST /orderOtherService/orderOther/refresh", "ts-order-other", 0.5),
    ("POST /inside_pay_service/inside_payment", "ts-inside-payment", 0.4),
    ("GET /cancelservice/cancel/{orderId}/{loginId}", "ts-cancel", 0.15),
    ("POST /rebookservice/rebook", "ts-rebook", 0.1),
    ("GET /executeservice/execute/collected/{orderId}", "ts-execute", 0.2),
    ("GET /foodservice/foods/{date}/{start}/{end}/{tripId}", "ts-food", 0.4),
    ("POST /travelplanservice/travelPlan/cheapest", "ts-travel-plan", 0.3),
    ("GET /newsservice/news", "ts-news", 0.8),
    ("GET /avatar/{id}", "ts-avatar", 0.4),
    ("POST /voucherservice/voucher", "ts-voucher", 0.1),
    ("GET /adminorderservice/adminorder", "ts-admin-order", 0.05),
    ("GET /adminbasicservice/adminbasic/stations", "ts-admin-basic-info", 0.05),
)

_SERVICES = (
    _op("ts-travel", "POST /travelservice/trips/left", 6.0,
        _call(f"{DB} SELECT trip"),
        _call("ts-ticketinfo POST /ticketinfoservice/ticketinfo", repeat=3),
        _call("ts-seat POST /seatservice/seats/left_tickets", repeat=3)),
    _op("ts-travel", "POST /travelservice/trip_detail", 3.0, _call(f"{DB} SELECT trip"), *_TRIP),
    _op("ts-travel", "GET /travelservice/routes/{tripId}", 1.5, _call(f"{DB} SELECT trip"),
        _call("ts-route GET /routeservice/routes/{routeId}")),
    _op("ts-travel2", "POST /travel2service/trips/left", 8.0,
        _call(f"{DB} SELECT trip2"),
        _call("ts-ticketinfo POST /ticketinfoservice/ticketinfo", repeat=3),
        _call("ts-seat POST /seatservice/seats/left_tickets", repeat=2)),
    _op("ts-travel2", "POST /travel2service/trip_detail", 3.0, _call(f"{DB} SELECT trip2"), *_TRIP),
    _op("ts-ticketinfo", "POST /ticketinfoservice/ticketinfo", 1.0,
        _call("ts-basic POST /basicservice/basic/travel")),
    _op("ts-basic", "POST /basicservice/basic/travel", 2.0,
        _call("ts-station GET /stationservice/stations/id/{name}", repeat=2),
        _call("ts-train GET /trainservice/trains/{id}", parallel=1),
        _call("ts-route GET /routeservice/routes/{routeId}"),
        _call("ts-price GET /priceservice/prices/{routeId}/{trainType}")),
    _op("ts-station", "GET /stationservice/stations/id/{name}", 0.8, _call(f"{REDIS} GET station"),
        _call(f"{DB} SELECT station", p=0.1)),
    _op("ts-station", "GET /stationservice/stations", 4.0, _call(f"{DB} SELECT station")),
    _op("ts-train", "GET /trainservice/trains/{id}", 0.8, _call(f"{DB} SELECT train_type")),
    _op("ts-route", "GET /routeservice/routes/{routeId}", 1.2, _call(f"{DB} SELECT route")),
    _op("ts-route", "GET /routeservice/routes", 6.0, _call(f"{DB} SELECT route")),
    _op("ts-price", "GET /priceservice/prices/{routeId}/{trainType}", 1.0,
        _call(f"{DB} SELECT price_config")),
    _op("ts-seat", "POST /seatservice/seats/left_tickets", 3.0,
        _call("ts-order POST /orderservice/order/tickets", p=0.7),
        _call("ts-order-other POST /orderOtherService/orderOther/tickets", p=0.3),
        _call("ts-config GET /configservice/configs/{name}")),
    _op("ts-seat", "POST /seatservice/seats", 4.0,
        _call("ts-order POST /orderservice/order/tickets"),
        _call("ts-config GET /configservice/configs/{name}")),
    _op("ts-config", "GET /configservice/configs/{name}", 0.6, _call(f"{DB} SELECT config", p=0.3)),
    _op("ts-order", "POST /orderservice/order/tickets", 2.5, _call(f"{DB} SELECT orders")),
    _op("ts-order", "POST /orderservice/order/refresh", 6.0, _call(f"{DB} SELECT orders"),
        _call("ts-station GET /stationservice/stations/id/{name}", repeat=4)),
    _op("ts-order", "GET /orderservice/order/security/{date}/{id}", 2.0,
        _call(f"{DB} SELECT orders")),
    _op("ts-order", "GET /orderservice/order/{orderId}", 1.0, _call(f"{DB} SELECT orders")),
    _op("ts-order", "POST /orderservice/order", 3.0, _call(f"{DB} INSERT orders")),
    _op("ts-order", "PUT /orderservice/order/status/{orderId}/{status}", 2.0,
        _call(f"{DB} UPDATE orders")),
    _op("ts-order", "GET /orderservice/order", 250.0, _call(f"{DB} SELECT orders"), sigma=0.3),
    _op("ts-order-other", "POST /orderOtherService/orderOther/tickets", 2.5,
        _call(f"{DB} SELECT orders_other")),
    _op("ts-order-other", "POST /orderOtherService/orderOther/refresh", 6.0,
        _call(f"{DB} SELECT orders_other")),
    _op("ts-order-other", "GET /orderOtherService/orderOther/security/{date}/{id}", 2.0,
        _call(f"{DB} SELECT orders_other")),
    _op("ts-order-other", "POST /orderOtherService/orderOther", 3.0,
        _call(f"{DB} INSERT orders_other")),
    _op("ts-security", "GET /securityservice/securityConfigs/{accountId}", 1.5,
        _call(f"{DB} SELECT security_config"),
        _call("ts-order GET /orderservice/order/security/{date}/{id}"),
        _call("ts-order-other GET /orderOtherService/orderOther/security/{date}/{id}", parallel=1)),
    _op("ts-auth", "POST /users/login", 25.0, _call(f"{ACCOUNTS} SELECT auth_user"),
        _call("ts-verification-code GET /verifycode/verify/{code}"), errors=0.002),
    _op("ts-verification-code", "GET /verifycode/verify/{code}", 0.8, _call(f"{REDIS} GET code")),
    _op("ts-user", "GET /userservice/users/id/{userId}", 1.0, _call(f"{ACCOUNTS} SELECT user")),
    _op("ts-contacts", "GET /contactservice/contacts/account/{id}", 1.5,
        _call(f"{ACCOUNTS} SELECT contacts")),
    _op("ts-contacts", "GET /contactservice/contacts/{id}", 1.0,
        _call(f"{ACCOUNTS} SELECT contacts")),
    _op("ts-preserve", "POST /preserveservice/preserve", 8.0,
        _call("ts-travel POST /travelservice/trip_detail"),
        *_BOOK[:4], _call("ts-order POST /orderservice/order"), *_BOOK[4:], errors=0.003),
    _op("ts-preserve-other", "POST /preserveotherservice/preserveOther", 8.0,
        _call("ts-travel2 POST /travel2service/trip_detail"),
        *_BOOK[:4], _call("ts-order-other POST /orderOtherService/orderOther"), *_BOOK[4:],
        errors=0.003),
    _op("ts-assurance", "POST /assuranceservice/assurances", 2.0, _call(f"{DB} INSERT assurance")),
    _op("ts-food", "POST /foodservice/orders", 2.5, _call(f"{DB} INSERT food_order"),
        _call("ts-delivery consume food_delivery")),
    _op("ts-food", "GET /foodservice/foods/{date}/{start}/{end}/{tripId}", 5.0,
        _call("ts-travel GET /travelservice/routes/{tripId}"),
        _call("ts-station-food GET /stationfoodservice/stationfoodstores", parallel=1),
        _call("ts-train-food GET /trainfoodservice/trainfoods/{tripId}", parallel=1)),
    _op("ts-station-food", "GET /stationfoodservice/stationfoodstores", 3.0,
        _call(f"{DB} SELECT station_food")),
    _op("ts-train-food", "GET /trainfoodservice/trainfoods/{tripId}", 1.5,
        _call(f"{DB} SELECT train_food")),
    _op("ts-consign", "POST /consignservice/consigns", 2.0,
        _call("ts-consign-price GET /consignpriceservice/consignprice/{weight}/{isWithinRegion}"),
        _call(f"{DB} INSERT consign")),
    _op("ts-consign-price", "GET /consignpriceservice/consignprice/{weight}/{isWithinRegion}", 0.7,
        _call(f"{DB} SELECT consign_price")),
    _op("ts-inside-payment", "POST /inside_pay_service/inside_payment", 4.0,
        _call("ts-order GET /orderservice/order/{orderId}"),
        _call("ts-payment POST /paymentservice/payment", retries=1, timeout_ms=8000.0),
        _call("ts-order PUT /orderservice/order/status/{orderId}/{status}"),
        _call(f"{DB} INSERT inside_payment")),
    _op("ts-inside-payment", "GET /inside_pay_service/inside_payment/drawback/{userId}/{money}",
        3.0, _call(f"{DB} UPDATE inside_money")),
    _op("ts-payment", "POST /paymentservice/payment", 35.0, _call(f"{DB} INSERT payment"),
        sigma=0.6, errors=0.004),
    _op("ts-cancel", "GET /cancelservice/cancel/{orderId}/{loginId}", 4.0,
        _call("ts-order GET /orderservice/order/{orderId}"),
        _call("ts-order PUT /orderservice/order/status/{orderId}/{status}"),
        _call("ts-inside-payment GET /inside_pay_service/inside_payment/drawback/{userId}/{money}"),
        _call("ts-user GET /userservice/users/id/{userId}"),
        _call("ts-notification consume order_cancel")),
    _op("ts-rebook", "POST /rebookservice/rebook", 6.0,
        _call("ts-order GET /orderservice/order/{orderId}"),
        _call("ts-travel POST /travelservice/trip_detail"),
        _call("ts-seat POST /seatservice/seats"),
        _call("ts-inside-payment POST /inside_pay_service/inside_payment"),
        _call("ts-order PUT /orderservice/order/status/{orderId}/{status}")),
    _op("ts-execute", "GET /executeservice/execute/collected/{orderId}", 2.0,
        _call("ts-order GET /orderservice/order/{orderId}"),
        _call("ts-order PUT /orderservice/order/status/{orderId}/{status}")),
    _op("ts-travel-plan", "POST /travelplanservice/travelPlan/cheapest", 10.0,
        _call("ts-route-plan POST /routeplanservice/routePlan/cheapestRoute")),
    _op("ts-route-plan", "POST /routeplanservice/routePlan/cheapestRoute", 20.0,
        _call("ts-route GET /routeservice/routes"),
        _call("ts-ticketinfo POST /ticketinfoservice/ticketinfo", repeat=3), sigma=0.7),
    _op("ts-news", "GET /newsservice/news", 3.0, sigma=0.4),
    _op("ts-avatar", "GET /avatar/{id}", 30.0, _call(f"{ACCOUNTS} SELECT avatar"), sigma=0.6),
    _op("ts-voucher", "POST /voucherservice/voucher", 3.0,
        _call("ts-order GET /orderservice/order/{orderId}"), _call(f"{ACCOUNTS} INSERT voucher")),
    _op("ts-admin-order", "GET /adminorderservice/adminorder", 10.0,
        _call("ts-order GET /orderservice/order")),
    _op("ts-admin-order", "POST /adminorderservice/report", 300.0,
        _call(f"{DB} SELECT orders GROUP BY day", timeout_ms=30_000.0), errors=0.0, sigma=0.3),
    _op("ts-admin-basic-info", "GET /adminbasicservice/adminbasic/stations", 3.0,
        _call("ts-station GET /stationservice/stations")),
)  # fmt: skip
_CONSUMERS = (
    Op("ts-notification", "consume preserve_success", 12.0, 0.6, 0.002, internal="send email"),
    Op("ts-notification", "consume order_cancel", 12.0, 0.6, 0.002, internal="send email"),
    Op("ts-delivery", "consume food_delivery", 3.0, 0.5, 0.001, (Call(f"{DB} INSERT delivery"),)),
)
_QUERIES = {  # median ms of each query label, by database
    DB: {"SELECT trip": 3.0, "SELECT trip2": 3.0, "SELECT station": 1.0, "SELECT train_type": 0.8,
         "SELECT route": 1.5, "SELECT price_config": 1.0, "SELECT config": 0.8,
         "SELECT orders": 2.5, "INSERT orders": 3.0, "UPDATE orders": 2.5,
         "SELECT orders_other": 2.5, "INSERT orders_other": 3.0, "SELECT security_config": 1.0,
         "INSERT assurance": 2.0, "INSERT food_order": 2.0, "SELECT station_food": 2.0,
         "SELECT train_food": 1.5, "INSERT consign": 2.0, "SELECT consign_price": 0.8,
         "INSERT inside_payment": 2.5, "UPDATE inside_money": 2.5, "INSERT payment": 2.5,
         "INSERT delivery": 2.0, "SELECT orders GROUP BY day": 2000.0},
    ACCOUNTS: {"SELECT auth_user": 1.5, "SELECT user": 1.0, "SELECT contacts": 1.5,
               "SELECT avatar": 4.0, "INSERT voucher": 2.5},
    REDIS: {"GET station": 0.3, "GET code": 0.3},
}  # fmt: skip
_STORES = tuple(
    Op(db, label, ms, 0.25 if ms > 100 else 0.5, 0.0 if db == REDIS else 0.0003)
    for db, labels in _QUERIES.items()
    for label, ms in labels.items()
)
_DASHBOARD = tuple(  # the UI gateway passes each request on to the service behind it
    Op(_UI, f"{route.split(' ')[0]} {V1}{route.split(' ', 1)[1]}", 1.0, 0.3, 0.0005,
       (_call(f"{service} {route}", timeout_ms=10_000.0),))
    for route, service, _ in _ENTRIES
)  # fmt: skip

SYSTEM40 = Topology(
    name="system40",
    description="forty services after TrainTicket: trip search, booking, payment; two shared "
    "MySQL databases, Redis, a message queue",
    databases=(DB, ACCOUNTS),
    caches=(REDIS,),
    spans_per_s=150.0,
    entries=(
        *(Entry(f"{_UI} {op.name}", weight)
          for op, (_, _, weight) in zip(_DASHBOARD, _ENTRIES, strict=True)),
        Entry(f"ts-admin-order POST {V1}/adminorderservice/report", period_s=60.0),
    ),
    ops=(*_DASHBOARD, *_SERVICES, *_CONSUMERS, *_STORES),
)  # fmt: skip
