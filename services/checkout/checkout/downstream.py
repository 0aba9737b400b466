"""Calls to payment and inventory, with every failure turned into a clean answer."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import status

from aiops_telemetry import failure_kind

# Client errors the caller caused and should see as they are.
_PASSED_THROUGH = {402, 404, 409}


class DownstreamError(Exception):
    """A downstream call failed; `status_code` and `detail` are what checkout answers."""

    def __init__(self, service: str, status_code: int, detail: str) -> None:
        super().__init__(detail)
        self.service = service
        self.status_code = status_code
        self.detail = detail


async def post_json(
    client: httpx.AsyncClient, service: str, path: str, body: dict[str, Any]
) -> dict[str, Any]:
    """POST `body` to `service` and return its JSON answer, or raise `DownstreamError`."""
    try:
        response = await client.post(path, json=body)
    except httpx.HTTPError as exc:
        kind = failure_kind(exc)
        if kind == "timeout":
            timeout = client.timeout.read
            raise DownstreamError(
                service,
                status.HTTP_504_GATEWAY_TIMEOUT,
                f"{service} did not answer within {timeout}s",
            ) from exc
        raise DownstreamError(
            service, status.HTTP_503_SERVICE_UNAVAILABLE, f"{service} is unreachable ({kind})"
        ) from exc
    if response.status_code in _PASSED_THROUGH:
        raise DownstreamError(service, response.status_code, _detail(response))
    if response.is_error:
        raise DownstreamError(
            service,
            status.HTTP_502_BAD_GATEWAY,
            f"{service} failed with HTTP {response.status_code}: {_detail(response)}",
        )
    try:
        answer: dict[str, Any] = response.json()
    except ValueError as exc:
        raise DownstreamError(
            service, status.HTTP_502_BAD_GATEWAY, f"{service} sent a response that is not JSON"
        ) from exc
    return answer


def _detail(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        detail = None
    return str(detail) if detail else response.reason_phrase or "no detail"
