"""Reusable parts of the OpenAPI document: error bodies, security, non-endpoint routes, refs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

REF_PREFIX = "#/components/schemas/"

ERROR_SCHEMAS: dict[str, dict[str, Any]] = {
    "ValidationError": {
        "title": "ValidationError",
        "type": "object",
        "properties": {
            "loc": {
                "title": "Location",
                "type": "array",
                "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
            },
            "msg": {"title": "Message", "type": "string"},
            "type": {"title": "Error Type", "type": "string"},
        },
        "required": ["loc", "msg", "type"],
    },
    "HTTPValidationError": {
        "title": "HTTPValidationError",
        "type": "object",
        "properties": {
            "detail": {
                "title": "Detail",
                "type": "array",
                "items": {"$ref": f"{REF_PREFIX}ValidationError"},
            }
        },
    },
    "HTTPError": {
        "title": "HTTPError",
        "type": "object",
        "properties": {
            "detail": {"title": "Detail", "type": "string"},
            "code": {"title": "Code", "type": "string"},
        },
        "required": ["detail"],
    },
}
"""The error bodies :mod:`api.errors` produces, under FastAPI's component names."""

SECURITY_SCHEMES = {"bearerAuth": {"type": "http", "scheme": "bearer"}}

_HEALTH_REPORT: dict[str, Any] = {
    "title": "HealthReport",
    "type": "object",
    "properties": {
        "status": {"type": "string", "enum": ["healthy", "degraded"]},
        "database": {
            "type": "object",
            "properties": {
                "status": {"type": "string", "enum": ["up", "down"]},
                "latency_ms": {"type": "number"},
                "error": {"type": "string", "description": "Exception type when down."},
            },
            "required": ["status"],
        },
        "engines": {
            "type": "object",
            "additionalProperties": {"type": "string", "enum": ["configured", "missing"]},
        },
        "businesses": {"type": "integer", "minimum": 0},
        "admin_api": {"type": "string", "enum": ["enabled", "disabled"]},
    },
    "required": ["status", "database", "engines", "businesses", "admin_api"],
}


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


SERVICE_PATHS: dict[str, Any] = {
    "/health": {
        "get": {
            "tags": ["service"],
            "summary": "Liveness: the process is up",
            "operationId": "health",
            "responses": {
                "200": _json(
                    "The server is up.",
                    {
                        "type": "object",
                        "properties": {"status": {"type": "string", "const": "healthy"}},
                        "required": ["status"],
                    },
                )
            },
        }
    },
    "/health/detailed": {
        "get": {
            "tags": ["service"],
            "summary": "Readiness: database and engines",
            "operationId": "health_detailed",
            "description": "Shows whether each secret is set, never the secret itself.",
            "responses": {
                "200": _json("The database answers.", _HEALTH_REPORT),
                "503": _json("The database does not answer.", _HEALTH_REPORT),
            },
        }
    },
}
"""Routes of :mod:`api.health`, which are not :class:`Endpoint`'s, for ``extra_paths``."""


def reachable(paths: dict[str, Any], components: dict[str, Any]) -> set[str]:
    """Names of the components the paths use, directly or through other components."""
    seen: set[str] = set()
    pending = list(refs(paths))
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        if name not in components:
            raise ValueError(f"$ref to unknown schema {name!r}")
        seen.add(name)
        pending.extend(refs(components[name]))
    return seen


def refs(node: Any) -> Iterator[str]:
    """Component names of every ``#/components/schemas/...`` reference under ``node``."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(REF_PREFIX):
            yield ref.removeprefix(REF_PREFIX)
        for value in node.values():
            yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)
