"""The OpenAPI 3.1 document, generated from the :class:`~api.endpoint.Endpoint` declarations.

Nothing here is maintained by hand: paths, parameters, bodies and answers all come from the
same models that validate requests and serialise responses, so the document cannot drift from
what the server does. Error answers use FastAPI's component names (``HTTPValidationError``,
``ValidationError``) so clients generated against a FastAPI service keep working.
"""

from __future__ import annotations

import copy
import inspect
import re
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Any, Literal

from pydantic import TypeAdapter

from api.endpoint import Endpoint, NoInput
from api.openapi_components import (
    ERROR_SCHEMAS,
    REF_PREFIX,
    SECURITY_SCHEMES,
    SERVICE_PATHS,
    reachable,
)

OPENAPI_VERSION = "3.1.0"

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
"""The operations a path item may hold, in the order OpenAPI lists them."""

_PATH_ITEM_FIELDS = ("summary", "description", "servers", "parameters")
_COMPONENT_NAME = re.compile(r"^[a-zA-Z0-9._-]+$")
_DOCSTRING_SECTION = re.compile(r"^(Args|Arguments|Returns|Raises|Yields|Examples?|Note):\s*$")

Mode = Literal["validation", "serialization"]
_Key = tuple[int, str]


def openapi_document(
    endpoints: Iterable[Endpoint],
    *,
    title: str,
    version: str,
    description: str = "",
    extra_paths: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Build the OpenAPI 3.1 document describing ``endpoints``.

    Args:
        endpoints: Every JSON route of the application.
        title: ``info.title``.
        version: ``info.version``, the API's (not OpenAPI's) version.
        description: ``info.description``, Markdown.
        extra_paths: Path items for routes that are not endpoints (webhooks, websockets,
            health), merged in as given; they may ``$ref`` the error components.

    Returns:
        The document, paths sorted, ready for ``json.dumps``.

    Raises:
        ValueError: Two operations share a method and path or an operation id, a method is not
            an OpenAPI one, or a path model names a field the path does not have.
    """
    endpoints = list(endpoints)
    schemas, definitions = _schemas(endpoints)
    components: dict[str, Any] = dict(definitions)
    for name, schema in ERROR_SCHEMAS.items():
        if components.setdefault(name, schema) != schema:
            raise ValueError(f"A model is named {name!r}, which the error schemas use")

    paths: dict[str, dict[str, Any]] = {}
    for index, endpoint in enumerate(endpoints):
        path = openapi_path(endpoint.path)
        operation = _operation(endpoint, path, index, schemas, components)
        _add_operation(paths, path, endpoint.method, operation)
    for path, item in (extra_paths or {}).items():
        for key, value in item.items():
            _add_operation(paths, openapi_path(path), key, value)
    operations = [op for item in paths.values() for op in _operations(item)]
    ids = [op["operationId"] for op in operations if "operationId" in op]
    if duplicates := sorted({name for name in ids if ids.count(name) > 1}):
        raise ValueError(f"Duplicate operationId: {', '.join(duplicates)}")

    document: dict[str, Any] = {
        "openapi": OPENAPI_VERSION,
        "info": {"title": title, "version": version},
        "paths": {path: _ordered(paths[path]) for path in sorted(paths)},
    }
    if description:
        document["info"]["description"] = description
    if tags := {tag for op in operations for tag in op.get("tags", ())}:
        document["tags"] = [{"name": tag} for tag in sorted(tags)]
    used = reachable(document["paths"], components)
    document["components"] = {
        "schemas": {name: components[name] for name in sorted(used)},
        "securitySchemes": SECURITY_SCHEMES,
    }
    return copy.deepcopy(document)  # nothing shared with the module's constants or between parts


def openapi_path(path: str) -> str:
    r"""An aiohttp path pattern as an OpenAPI path: ``/a/{id:\d+}`` becomes ``/a/{id}``."""
    out: list[str] = []
    field: list[str] = []
    depth = 0
    for char in path:
        if depth == 0:
            if char == "{":
                depth, field = 1, []
            else:
                out.append(char)
            continue
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth == 0:
            out.append("{" + "".join(field).split(":", 1)[0] + "}")
        else:
            field.append(char)
    return "".join(out)


def _schemas(endpoints: list[Endpoint]) -> tuple[dict[_Key, dict[str, Any]], dict[str, Any]]:
    """Every model's JSON schema in one pass, so shared models become one component.

    A model that differs between input and output is split by pydantic into ``Name-Input`` and
    ``Name-Output``.
    """
    inputs: list[tuple[_Key, Mode, TypeAdapter[Any]]] = []
    for index, endpoint in enumerate(endpoints):
        roles: list[tuple[str, Any, Mode]] = [
            ("path", endpoint.path_model, "validation"),
            ("query", endpoint.query_model, "validation"),
            ("body", endpoint.body_model, "validation"),
            ("response", endpoint.response, "serialization"),
        ]
        for role, kind, mode in roles:
            if kind is not None and kind is not NoInput:
                inputs.append(((index, role), mode, TypeAdapter(kind)))
    schemas, definitions = TypeAdapter.json_schemas(inputs, ref_template=REF_PREFIX + "{model}")
    for name in definitions.get("$defs", {}):
        if not _COMPONENT_NAME.match(name):
            raise ValueError(f"Schema name {name!r} is not a valid OpenAPI component name")
    return {key: schema for (key, _mode), schema in schemas.items()}, definitions.get("$defs", {})


def _operation(
    endpoint: Endpoint,
    path: str,
    index: int,
    schemas: dict[_Key, dict[str, Any]],
    components: dict[str, Any],
) -> dict[str, Any]:
    """One operation object."""
    operation: dict[str, Any] = {
        "tags": [endpoint.tag],
        "summary": endpoint.summary,
        "operationId": endpoint.name,
    }
    if text := _description(endpoint):
        operation["description"] = text
    parameters = _path_parameters(endpoint, path, schemas.get((index, "path")), components)
    if (query := schemas.get((index, "query"))) is not None:
        parameters += _parameters("query", _resolve(query, components))
    if parameters:
        operation["parameters"] = parameters
    if (index, "body") in schemas:
        content = {"application/json": {"schema": schemas[(index, "body")]}}
        operation["requestBody"] = {"required": True, "content": content}
    operation["responses"] = _responses(endpoint, schemas.get((index, "response")))
    if endpoint.auth:
        operation["security"] = [{"bearerAuth": []}]
    return operation


def _path_parameters(
    endpoint: Endpoint, path: str, schema: dict[str, Any] | None, components: dict[str, Any]
) -> list[dict[str, Any]]:
    """The path's parameters, typed by the path model; untyped template names are strings."""
    names = re.findall(r"\{([^}]+)\}", path)
    declared = _parameters("path", _resolve(schema, components)) if schema is not None else []
    unknown = {p["name"] for p in declared} - set(names)
    if unknown:
        raise ValueError(f"{endpoint.name}: path model fields {sorted(unknown)} not in {path}")
    known = {p["name"] for p in declared}
    untyped = [n for n in names if n not in known]
    return declared + [
        {"name": n, "in": "path", "required": True, "schema": {"type": "string"}} for n in untyped
    ]


def _parameters(where: str, model: dict[str, Any]) -> list[dict[str, Any]]:
    """One parameter per property of a model's schema."""
    required = set(model.get("required", ()))
    parameters = []
    for name, schema in model.get("properties", {}).items():
        parameter: dict[str, Any] = {
            "name": name,
            "in": where,
            "required": where == "path" or name in required,
            "schema": schema,
        }
        if "description" in schema:
            parameter["description"] = schema["description"]
        if schema.get("deprecated"):
            parameter["deprecated"] = True
        parameters.append(parameter)
    return parameters


def _resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    """The schema a top-level ``$ref`` points at, or the schema itself."""
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith(REF_PREFIX):
        resolved: dict[str, Any] = components[ref.removeprefix(REF_PREFIX)]
        return resolved
    return schema


def _responses(endpoint: Endpoint, schema: dict[str, Any] | None) -> dict[str, Any]:
    """The success answer and every error answer the endpoint may give.

    Besides ``endpoint.errors``: 422 when any input is validated, 400 and 413 for a body that
    is not JSON or is too large, and 401 when the admin token is required.
    """
    responses: dict[int, dict[str, Any]] = {}
    if endpoint.response is None:
        # Endpoint answers 204 when it has nothing to serialise and no other status is set.
        status = 204 if endpoint.status == 200 else endpoint.status
        responses[status] = {"description": "Successful Response"}
    else:
        content = {"application/json": {"schema": schema or {}}}
        responses[endpoint.status] = {"description": "Successful Response", "content": content}
    errors = set(endpoint.errors)
    if endpoint.body_model is not None:
        errors.update((400, 413, 422))
    if endpoint.path_model is not NoInput or endpoint.query_model is not NoInput:
        errors.add(422)
    if endpoint.auth:
        errors.add(401)
    for status in errors - responses.keys():
        name = "HTTPValidationError" if status == 422 else "HTTPError"
        responses[status] = {
            "description": _phrase(status),
            "content": {"application/json": {"schema": {"$ref": REF_PREFIX + name}}},
        }
    return {str(status): responses[status] for status in sorted(responses)}


def _phrase(status: int) -> str:
    """HTTP's reason phrase for a status."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _description(endpoint: Endpoint) -> str:
    """The handler's docstring up to its first Google-style section (``Args:``, ...)."""
    lines: list[str] = []
    for line in (inspect.getdoc(endpoint.handler) or "").splitlines():
        if _DOCSTRING_SECTION.match(line):
            break
        lines.append(line)
    return "\n".join(lines).strip()


def _add_operation(paths: dict[str, dict[str, Any]], path: str, key: str, value: Any) -> None:
    """Put an operation (or a path-level field of ``extra_paths``) into its path item.

    Raises:
        ValueError: The path already has that operation or field, or ``key`` is neither.
    """
    key = key.lower() if key.lower() in METHODS else key
    if key not in METHODS and key not in _PATH_ITEM_FIELDS:
        raise ValueError(f"{key.upper()} {path}: not an OpenAPI operation method")
    item = paths.setdefault(path, {})
    if key in item:
        raise ValueError(f"Two definitions of {key.upper()} {path}")
    item[key] = value


def _operations(item: dict[str, Any]) -> list[dict[str, Any]]:
    """A path item's operations, without its path-level fields."""
    return [value for key, value in item.items() if key in METHODS]


def _ordered(item: dict[str, Any]) -> dict[str, Any]:
    """A path item's fields, then its operations in OpenAPI's method order."""
    fields = {key: item[key] for key in _PATH_ITEM_FIELDS if key in item}
    return fields | {method: item[method] for method in METHODS if method in item}


__all__ = ["SERVICE_PATHS", "openapi_document", "openapi_path"]
