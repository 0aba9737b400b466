"""mesh50: fifty services wired at random (with a fixed seed) in five tiers.

Three gateways take the traffic; each tier calls one or two tiers below,
with branches taken only sometimes; the lowest tiers query six shared
databases and three caches, and a few services consume queued messages.
The wiring is drawn once, from MESH_SEED, so mesh50 is the same everywhere.
"""

from __future__ import annotations

import random

from aiops_simulate.topology import Call, Entry, Op, Topology

MESH_SEED = 50
_NAMES = (
    "gateway", "mobile-gateway", "partner-gateway",
    "identity", "session", "catalog", "pricing", "cart", "orders", "search", "profile",
    "content", "reviews",
    "inventory", "promotions", "tax", "fraud", "payments", "shipping", "loyalty", "media",
    "geo", "recommend", "ranking", "pages", "i18n", "flags", "quotas",
    "ledger", "wallet", "billing", "warehouse", "carrier", "returns", "invoices", "ratings",
    "thumbnails", "tokens", "audit", "rules", "limits", "experiments",
    "events", "mailer", "sms", "push", "webhooks", "archiver", "indexer", "metering",
)  # fmt: skip
_TIERS = (3, 10, 15, 14, 8)  # services per tier, gateways first
_DBS = ("core-db", "orders-db", "catalog-db", "ledger-db", "events-db", "users-db")
_CACHES = ("session-cache", "catalog-cache", "rate-cache")
_VERBS = ("GET", "GET", "GET", "POST", "PUT")
_NOUNS = ("items", "status", "lookup", "batch", "summary", "check", "records", "detail")


def _mesh() -> Topology:
    rng = random.Random(MESH_SEED)
    tiers, at = [], 0
    for size in _TIERS:
        tiers.append(_NAMES[at : at + size])
        at += size
    ops: dict[str, list[str]] = {}  # service -> its operation names
    for depth, tier in enumerate(tiers):
        for service in tier:
            count = 2 if depth == 0 else rng.choice((1, 1, 2, 2, 3))
            names = dict.fromkeys(
                f"{rng.choice(_VERBS)} /{service}/{rng.choice(_NOUNS)}" for _ in range(count)
            )
            if depth == len(tiers) - 1 and rng.random() < 0.5:
                names = {f"consume {service}-events": None}
            ops[service] = list(names)
    stores = {db: [f"SELECT {db[:-3]}", f"UPDATE {db[:-3]}"] for db in _DBS}
    stores |= {cache: [f"GET {cache[:-6]}"] for cache in _CACHES}
    calls: dict[str, list[Call]] = {f"{s} {n}": [] for s, names in ops.items() for n in names}
    for depth, tier in enumerate(tiers[:-1]):
        below = [f"{s} {n}" for t in tiers[depth + 1 : depth + 3] for s in t for n in ops[s]]
        fanout = (3, 3, 2, 1)[depth]
        for service in tier:
            for name in ops[service]:
                for target in rng.sample(below, rng.randint(1, fanout)):
                    p = 1.0 if rng.random() < 0.6 else round(rng.uniform(0.2, 0.8), 2)
                    calls[f"{service} {name}"].append(
                        Call(target, p=p, parallel=rng.random() < 0.3,
                             optional=rng.random() < 0.15, retries=int(rng.random() < 0.1))
                    )  # fmt: skip
    for depth, tier in enumerate(tiers[1:], start=1):  # nobody calls it: someone above does now
        for service in tier:
            for name in ops[service]:
                key = f"{service} {name}"
                if not any(c.target == key for cs in calls.values() for c in cs):
                    callers = [f"{s} {n}" for s in tiers[depth - 1] for n in ops[s]]
                    calls[rng.choice(callers)].append(Call(key, p=round(rng.uniform(0.3, 1), 2)))
    for depth, tier in enumerate(tiers[1:], start=1):  # the lower tiers keep data
        for service in tier:
            for name in ops[service]:
                if rng.random() < 0.2 * depth:
                    store = rng.choice((*_DBS, *_DBS, *_CACHES))
                    label = rng.choice(stores[store])
                    calls[f"{service} {name}"].append(Call(f"{store} {label}", p=0.7))
    built = [
        Op(key.split(" ", 1)[0], key.split(" ", 1)[1], round(rng.lognormvariate(1.0, 0.8), 2),
           round(rng.uniform(0.2, 0.8), 2), round(rng.uniform(0.0, 0.004), 4), tuple(targets))
        for key, targets in calls.items()
    ]  # fmt: skip
    used = {call.target for targets in calls.values() for call in targets}
    built += [
        Op(store, label, round(rng.uniform(0.8, 4.0) if store in _DBS else 0.3, 2), 0.5, 0.0002)
        for store, labels in stores.items()
        for label in labels
        if f"{store} {label}" in used
    ]
    entries = [Entry(f"{s} {n}", rng.uniform(0.5, 3.0)) for s in tiers[0] for n in ops[s]]
    return Topology(
        name="mesh50",
        description="fifty services in five tiers, wired at random with a fixed seed; six "
        "shared databases, three caches, some queue consumers",
        ops=tuple(built),
        entries=tuple(entries),
        databases=_DBS,
        caches=_CACHES,
        spans_per_s=150.0,
    )


MESH50 = _mesh()
