"""The OpenAPI document, made to say what the server does where the route signatures cannot.

The largest `k` is a setting (serve.max_k), checked in a dependency, so FastAPI cannot see it; it is written
into every `k` parameter here, once per app, so clients (and schema-driven tests) know the bound.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI


def with_settings(app: FastAPI, max_k: int) -> Callable[[], dict[str, Any]]:
    """An `app.openapi` replacement: FastAPI's document plus the bounds that come from settings."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            for parameter in _parameters(schema):
                if parameter.get("in") == "query" and parameter.get("name") == "k":
                    parameter["schema"]["maximum"] = max_k
            app.openapi_schema = schema
        return app.openapi_schema

    return openapi


def _parameters(schema: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        parameter
        for path_item in schema.get("paths", {}).values()
        for operation in path_item.values()
        if isinstance(operation, dict)
        for parameter in operation.get("parameters", [])
    ]
