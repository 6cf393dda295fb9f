"""The OpenAPI description validates and names exactly the routes the app serves."""

from __future__ import annotations

import re
from collections.abc import Callable

from aiohttp import web
from openapi_spec_validator import validate

from dispatcher.config import Settings
from dispatcher.store.users import Role
from tests.web.helpers import bearer, web_only

SettingsFor = Callable[..., Settings]
_DOCUMENTED = re.compile(r"^/api/|^/healthz$|^/metrics$")


def served(app: web.Application) -> set[tuple[str, str]]:
    """(method, path) of every API route; HEAD comes with GET and is not described."""
    return {
        (route.method.lower(), route.resource.canonical)
        for route in app.router.routes()
        if route.resource is not None
        and _DOCUMENTED.match(route.resource.canonical)
        and route.method not in ("HEAD", "*")
    }


async def test_the_description_validates_and_matches_the_routes(
    sqlite_url: str, settings_for: SettingsFor
) -> None:
    async with web_only(settings_for(sqlite_url)) as w:
        await w.add_user("op1", Role.OPERATOR)
        token = await bearer(w.client, "op1")
        async with w.client.get(
            "/api/openapi.json", headers={"Authorization": f"Bearer {token}"}
        ) as response:
            assert response.status == 200
            spec = await response.json()
        validate(spec)
        described = {
            (method, path)
            for path, operations in spec["paths"].items()
            for method in operations
            if method in ("get", "put", "post", "patch", "delete")
        }
        assert described == served(w.app)
        # every path parameter of a route is declared where it is described
        for path, operations in spec["paths"].items():
            names = set(re.findall(r"\{([^}]+)\}", path))
            for operation in operations.values():
                declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
                assert declared == names, path
