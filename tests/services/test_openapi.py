"""Each shop service's OpenAPI document gives a response schema for every endpoint and for
every status it answers: readers (the CLI, the chaos tools, schemathesis) rely on them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from pydantic import TypeAdapter
from pydantic.json_schema import JsonSchemaMode

from aiops_api import chaos as chaos_api
from aiops_api import common, shop
from aiops_api import service as service_api
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


# FastAPI's own 422 body, the one answer no service declares (aiops_api.common's
# ValidationErrors is how a reader parses it).
FASTAPI_OWN = {"HTTPValidationError", "ValidationError"}
API_MODULES = (shop, service_api, chaos_api, common)
REF = "#/components/schemas/{model}"


def aiops_api_classes() -> dict[str, type]:
    """The classes aiops_api declares (not those its modules import), by name."""
    return {
        name: value
        for module in API_MODULES
        for name, value in vars(module).items()
        if isinstance(value, type) and value.__module__ == module.__name__
    }


def outline(schema: dict[str, Any]) -> tuple[object, ...]:
    """What tells one model from a look-alike, whatever details a FastAPI version renders:
    its title, description, fields, required fields and enum values."""
    keys = ("title", "description", "required", "enum")
    return (*(schema.get(key) for key in keys), sorted(schema.get("properties", {})))


@pytest.mark.parametrize("service", APPS)
def test_shop_answers_are_the_shared_models(service: str) -> None:
    """Every model in the document, the kit's /health and chaos API included, is an
    aiops_api class: none is declared by a service or by aiops_telemetry (a class of the
    same name elsewhere would be qualified by its module; a look-alike's outline differs)."""
    classes = aiops_api_classes()
    schemas = APPS[service]().openapi()["components"]["schemas"]
    assert set(schemas) - set(classes) - FASTAPI_OWN == set(), "a model outside aiops_api"
    for name, schema in schemas.items():
        if name not in FASTAPI_OWN:
            modes: tuple[JsonSchemaMode, ...] = ("serialization", "validation")
            own = [TypeAdapter(classes[name]).json_schema(mode=mode) for mode in modes]
            assert outline(schema) in map(outline, own), f"{name} is not aiops_api's"


def test_the_kit_answers_with_the_shared_models() -> None:
    """/health answers ServiceHealth (its sink: SinkStatus) and the chaos API aiops_api.chaos's
    models; a refusal is ErrorDetail."""
    document = APPS["payment"]().openapi()
    found = operations(document)

    def answer(method: str, path: str, code: str) -> str:
        schema = found[method, path]["responses"][code]["content"]["application/json"]["schema"]
        return str(schema["$ref"]).rsplit("/", 1)[-1]

    assert answer("GET", "/health", "200") == "ServiceHealth"
    for kind in ("delay", "error", "hang", "exception"):
        assert answer("POST", f"/simulate/{kind}", "201") == "FaultCreated"
        assert answer("POST", f"/simulate/{kind}", "401") == "ErrorDetail"
    assert answer("GET", "/simulate", "200") == "FaultList"
    assert answer("DELETE", "/simulate", "200") == "FaultsRemoved"
    assert answer("DELETE", "/simulate/{fault_id}", "200") == "FaultsRemoved"
    assert answer("DELETE", "/simulate/{fault_id}", "404") == "ErrorDetail"
    schemas = document["components"]["schemas"]
    assert schemas["ServiceHealth"]["properties"]["telemetry"] == {
        "$ref": REF.format(model="SinkStatus")
    }
    assert schemas["FaultView"]["properties"]["kind"] == {"$ref": REF.format(model="FaultKind")}
