"""The analyzer's HTTP API, with every failure turned into one sentence a person can act on."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Generic, TypeVar

import httpx
from pydantic import TypeAdapter, ValidationError

TIMEOUT_S = 10.0  # a cycle or a Redis call takes well under this; longer means something's wrong


T = TypeVar("T")
# URL query parameters; None leaves one out.
Param = str | int | float | None


class CliError(Exception):
    """A failure to report on stderr, without a traceback; the command exits 1."""


@dataclass(frozen=True, slots=True)
class Answer(Generic[T]):
    """An answer of the API: parsed into its model, and the JSON as it came (for `--json`)."""

    value: T
    json: object


class Analyzer:
    """A synchronous client: one command makes one or two calls, so async buys nothing."""

    def __init__(self, url: str, *, timeout: float = TIMEOUT_S) -> None:
        self.url = url.rstrip("/")
        self._http = httpx.Client(base_url=self.url, timeout=timeout)

    def __enter__(self) -> Analyzer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._http.close()

    def get(self, path: str, shape: type[T] | TypeAdapter[T], **params: Param) -> Answer[T]:
        """GET `path`, its answer parsed as `shape` (a response model, or an adapter of one)."""
        query = {name: value for name, value in params.items() if value is not None}
        return self._parse(path, shape, self._call("GET", path, query))

    def post(self, path: str, shape: type[T] | TypeAdapter[T]) -> Answer[T]:
        return self._parse(path, shape, self._call("POST", path, {}))

    def _parse(self, path: str, shape: type[T] | TypeAdapter[T], json: object) -> Answer[T]:
        adapter = shape if isinstance(shape, TypeAdapter) else TypeAdapter(shape)
        try:
            return Answer(adapter.validate_python(json), json)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "the body"
            raise CliError(
                f"{self.url} answered {path} with JSON this aiops does not read ({where}: "
                f"{first['msg']}): {_WRONG_URL} Of the same version as this aiops?"
            ) from exc

    def _call(self, method: str, path: str, params: Mapping[str, Param]) -> object:
        try:
            response = self._http.request(method, path, params=params)
        except httpx.TransportError as exc:
            # Refused, timed out, unknown host: to the user all mean the same thing.
            raise CliError(
                f"the analyzer does not answer at {self.url}: start the stack with `make up` "
                f"(or point --url or AIOPS_ANALYZER_URL at it; {type(exc).__name__})"
            ) from exc
        if not response.is_success:
            raise CliError(_failure(response, self.url))
        try:
            json: object = response.json()
        except ValueError as exc:
            raise CliError(f"{self.url} answered {path} with no JSON: {_WRONG_URL}") from exc
        return json


_WRONG_URL = "is --url (or AIOPS_ANALYZER_URL) the analyzer?"


def _failure(response: httpx.Response, url: str) -> str:
    """The API's own `detail` (it says what to do next), else the status and body."""
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        detail = None
    if response.status_code == 404 and detail in (None, "Not Found"):
        # No such route, rather than no such incident or trace: the URL is wrong.
        return f"{url} has no {response.request.url.path}: {_WRONG_URL}"
    if isinstance(detail, str):
        return detail
    if isinstance(detail, list):  # FastAPI's validation errors: a list of {loc, msg}
        problems = [
            f"{'.'.join(str(p) for p in item.get('loc', [])[1:])}: {item.get('msg')}"
            for item in detail
            if isinstance(item, dict)
        ]
        return "the analyzer refused the request: " + "; ".join(problems)
    body = response.text.strip()[:300] or "(no body)"
    return f"the analyzer answered {response.status_code}: {body}"
