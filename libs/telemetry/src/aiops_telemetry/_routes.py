"""The route template a request will be routed to, known before the router runs.

Middleware that answers a request itself (an injected fault, a body over the
limit) names the endpoint with it, so the span keeps its route label instead
of `<unmatched>`.
"""

from __future__ import annotations

import re

from starlette.routing import compile_path
from starlette.types import Scope

ROUTE_TEMPLATE_KEY = "aiops.route_template"  # scope key: the endpoint of an unrouted request

Route = tuple[re.Pattern[str], str, frozenset[str]]  # path regex, template, methods


class RouteTemplates:
    """The app's routes, from its OpenAPI paths (FastAPI's public route list), in order."""

    def __init__(self) -> None:
        self._routes: list[Route] | None = None  # read on first use: routes are added late

    def template(self, scope: Scope) -> str | None:
        """The template the router will pick for this request (path and method)."""
        if self._routes is None:
            self._routes = _routes(scope.get("app"))
        path, method = scope["path"], scope["method"]
        for regex, template, methods in self._routes:
            if method in methods and regex.fullmatch(path):
                return template
        return None

    def name_endpoint(self, scope: Scope) -> None:
        """Record the template in the scope, for a request answered before routing."""
        if (template := self.template(scope)) is not None:
            scope[ROUTE_TEMPLATE_KEY] = template


def _routes(app: object) -> list[Route]:
    openapi = getattr(app, "openapi", None)
    paths: dict[str, dict[str, object]] = openapi()["paths"] if callable(openapi) else {}
    return [
        (compile_path(template)[0], template, frozenset(m.upper() for m in operations))
        for template, operations in paths.items()
    ]
