"""Reading a service's answer with its model (`aiops_api`), or saying why it cannot be read."""

from __future__ import annotations

from typing import TypeVar

import httpx
from pydantic import TypeAdapter, ValidationError

from aiops_api.common import ErrorDetail, ValidationErrors

from .stack_settings import StackError

T = TypeVar("T")
# What a refusal carries: a sentence (HTTPException), or FastAPI's 422 field errors.
REFUSAL: TypeAdapter[ErrorDetail | ValidationErrors] = TypeAdapter(ErrorDetail | ValidationErrors)


def parse_answer(
    who: str, method: str, path: str, response: httpx.Response, shape: type[T] | TypeAdapter[T]
) -> T:
    """`response`'s body as `shape` (a service's answer model); StackError when it is not."""
    adapter = shape if isinstance(shape, TypeAdapter) else TypeAdapter(shape)
    try:
        return adapter.validate_json(response.content)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'the body'}: {e['msg']}" for e in exc.errors()[:3]
        )
        raise StackError(
            f"{who} answered {method} {path} with what this tool does not read ({problems}): "
            "is the stack of the same version (`make up` rebuilds it), on the stack's port?"
        ) from exc


def refusal_detail(response: httpx.Response) -> str:
    """FastAPI's `detail`: a sentence, or a list of field errors (422); else the body."""
    try:
        refusal = REFUSAL.validate_json(response.content)
    except ValidationError:
        return response.text[:300]
    if isinstance(refusal, ErrorDetail):
        return refusal.detail[:300]
    return "; ".join(f"{'.'.join(map(str, e.loc))}: {e.msg}" for e in refusal.detail)
