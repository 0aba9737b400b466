"""Each shop service's OpenAPI document gives a response schema for every endpoint and for
every status it answers: readers (the CLI, the chaos tools, schemathesis) rely on them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI

from aiops_api import shop
from checkout.app import create_app as create_checkout
from checkout.settings import CheckoutSettings
from inventory.app import create_app as create_inventory
from inventory.settings import InventorySettings
from payment.app import create_app as create_payment
from payment.settings import PaymentSettings

APPS: dict[str, Callable[[], FastAPI]] = {
    "checkout": lambda: create_checkout(CheckoutSettings()),
    "payment": lambda: create_payment(PaymentSettings()),
    "inventory": lambda: create_inventory(InventorySettings()),
}

# What each endpoint answers besides success: raised by its code, its error handlers, the
# body limit (413 on a body) or FastAPI's validation (422 on parameters or a body).
CHAOS = {
    ("POST", "/simulate/delay"): {401, 403, 422},
    ("POST", "/simulate/error"): {401, 403, 422},
    ("POST", "/simulate/hang"): {401, 403, 422},
    ("POST", "/simulate/exception"): {401, 403, 422},
    ("GET", "/simulate"): {401, 403, 422},
    ("DELETE", "/simulate"): {401, 403, 422},
    ("DELETE", "/simulate/{fault_id}"): {401, 403, 404, 422},
    ("GET", "/health"): set(),
}
ERRORS: dict[str, dict[tuple[str, str], set[int]]] = {
    "checkout": {
        **CHAOS,
        ("POST", "/checkout"): {402, 404, 409, 413, 422, 502, 503, 504},
        ("GET", "/payment-voids"): {422, 503},
    },
    "payment": {
        **CHAOS,
        ("POST", "/payment"): {402, 409, 413, 422, 500, 503},
        ("POST", "/payment/{payment_id}/void"): {404, 422, 503},
        ("POST", "/payment/orders/{order_id}/void"): {422, 503},
    },
    "inventory": {
        **CHAOS,
        ("GET", "/inventory"): {503},
        ("GET", "/inventory/{sku}"): {404, 422, 503},
        ("POST", "/inventory/reserve"): {404, 409, 413, 422, 503},
    },
}


def operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method.upper(), path): operation
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    }


def json_schema(document: dict[str, Any], response: dict[str, Any]) -> dict[str, Any]:
    """The response's JSON schema, its `$ref` followed; {} when there is none."""
    schema: dict[str, Any] = (
        response.get("content", {}).get("application/json", {}).get("schema", {})
    )
    if ref := schema.get("$ref"):
        schema = document["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    return schema


@pytest.mark.parametrize("service", APPS)
def test_every_operation_has_a_typed_success_and_its_errors_documented(service: str) -> None:
    document = APPS[service]().openapi()
    found = operations(document)
    assert set(found) == set(ERRORS[service]), "an endpoint was added or removed: list it"
    for (method, path), operation in found.items():
        where = f"{service} {method} {path}"
        responses = operation["responses"]
        successes = [code for code in responses if code.startswith("2")]
        assert len(successes) == 1, f"{where}: {successes}"
        success = json_schema(document, responses[successes[0]])
        assert success.get("properties") or success.get("items"), f"{where}: untyped success"
        errors = {int(code) for code in responses if not code.startswith("2")}
        assert errors == ERRORS[service][method, path], where
        for code in errors:
            schema = json_schema(document, responses[str(code)])
            # Every refusal says why (`detail`), as the fuzzing tests demand of the live API.
            assert "detail" in schema.get("properties", {}), f"{where} {code}: {schema}"


@pytest.mark.parametrize("service", APPS)
def test_shop_answers_are_the_shared_models(service: str) -> None:
    """The success and error models are aiops_api.shop's, not re-declared per service."""
    document = APPS[service]().openapi()
    shared = {name for name, value in vars(shop).items() if isinstance(value, type)}
    own = {"Health", "FaultCreated", "FaultList", "FaultsRemoved", "FaultView", "FaultKind"}
    own |= {"SinkStats", "ChaosError", "HTTPValidationError", "ValidationError"}  # the kit's
    named = set(document["components"]["schemas"])
    assert named - shared - own == set(), "a shop model declared outside aiops_api.shop"
