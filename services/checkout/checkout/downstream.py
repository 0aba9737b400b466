"""Calls to payment and inventory, with every failure turned into a clean answer."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, TypeVar

import httpx
from fastapi import status
from pydantic import BaseModel, ValidationError

from aiops_api.shop import OrderPayment
from aiops_telemetry import failure_kind
from aiops_telemetry.http_client import ENDPOINT

Answer = TypeVar("Answer", bound=BaseModel)


# Failures before the request reached the service: it did nothing.
NOT_SENT = frozenset({"connection_refused", "dns_error", "connect_timeout"})


class DownstreamError(Exception):
    """A downstream call failed; `status_code` and `detail` are what checkout answers.

    `maybe_done`: the call may have done its work though it failed: no answer came after
    the request was sent (a timeout, a broken connection), the service failed with a 5xx
    other than 503 (payment answers 503 only when it recorded nothing), or its success
    could not be read. `payment` is what became of the order's payment, when it
    had been (or may have been) authorized; `order_id` the order's, once it has one;
    `content` the body of an answer passed through, for a caller to read more of it.
    """

    def __init__(
        self,
        service: str,
        status_code: int,
        detail: str,
        content: bytes = b"",
        *,
        maybe_done: bool = False,
    ) -> None:
        super().__init__(detail)
        self.service = service
        self.status_code = status_code
        self.detail = detail
        self.content = content
        self.maybe_done = maybe_done
        self.order_id: str | None = None
        self.payment: OrderPayment | None = None


async def post_json(
    client: httpx.AsyncClient,
    service: str,
    path: str,
    body: dict[str, Any] | None,
    *,
    answer: type[Answer],
    passed_through: Collection[int] = (),
    endpoint: str | None = None,
) -> Answer:
    """POST `body` to `service` and return its answer as `answer`, or raise `DownstreamError`.

    Statuses in `passed_through` are the caller's own fault (a declined card,
    an unknown SKU) and reach the caller as they are; any other failure is
    the downstream's, answered 502, 503 or 504. `endpoint` names the callee's
    route template for a path with parameters, so its client spans share one label.
    """
    extensions = {ENDPOINT: endpoint} if endpoint else None
    try:
        response = await client.post(path, json=body, extensions=extensions)
    except httpx.HTTPError as exc:
        kind = failure_kind(exc)
        if kind == "timeout":
            timeout = client.timeout.read
            raise DownstreamError(
                service,
                status.HTTP_504_GATEWAY_TIMEOUT,
                f"{service} did not answer within {timeout}s",
                maybe_done=True,
            ) from exc
        raise DownstreamError(
            service,
            status.HTTP_503_SERVICE_UNAVAILABLE,
            f"{service} is unreachable ({kind})",
            maybe_done=kind not in NOT_SENT,
        ) from exc
    if response.status_code in passed_through:
        raise DownstreamError(service, response.status_code, _detail(response), response.content)
    if response.is_error:
        raise DownstreamError(
            service,
            status.HTTP_502_BAD_GATEWAY,
            f"{service} failed with HTTP {response.status_code}: {_detail(response)}",
            maybe_done=response.status_code >= 500
            and response.status_code != status.HTTP_503_SERVICE_UNAVAILABLE,
        )
    try:
        return answer.model_validate_json(response.content)
    except ValidationError as exc:
        raise DownstreamError(
            service,
            status.HTTP_502_BAD_GATEWAY,
            f"{service} sent an unexpected answer",
            maybe_done=True,
        ) from exc


def _detail(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        detail = None
    return str(detail) if detail else response.reason_phrase or "no detail"
