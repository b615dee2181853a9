import datetime
import enum
import importlib.metadata
import json
import re
from collections.abc import Iterator
from typing import Any, Generic, TypeVar

import pytest
from aiohttp import web
from openapi_spec_validator import validate
from pydantic import BaseModel, ConfigDict, Field, computed_field

from api import keys
from api.docs import docs_routes, is_docs_path
from api.endpoint import Endpoint, Inputs, add_endpoints
from api.openapi import SERVICE_PATHS, openapi_document, openapi_path

T = TypeVar("T")
COMPONENT_NAME = re.compile(r"^[a-zA-Z0-9._-]+$")
OPERATION_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


class Status(enum.StrEnum):
    booked = "booked"
    cancelled = "cancelled"


class Item(BaseModel):
    id: int
    name: str
    day: datetime.date
    status: Status = Status.booked

    @computed_field  # type: ignore[prop-decorator]
    @property
    def label(self) -> str:
        return f"{self.name} on {self.day}"


class ItemCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=80)
    day: datetime.date
    party_size: int = Field(ge=1, le=20)


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int


class ListQuery(BaseModel):
    skip: int = Field(0, ge=0, le=1_000_000)
    limit: int = Field(50, ge=1, le=200, description="Page size")
    status: Status | None = None
    day: datetime.date
    tag: list[str] = Field(default_factory=list)


class ItemPath(BaseModel):
    id: int


async def handler(_inputs: Inputs[Any, Any, Any]) -> Any:
    """Do the sample thing.

    Args:
        _inputs: Validated request.
    """
    return None


def sample(method: str, path: str, name: str, tag: str = "items", **options: Any) -> Endpoint:
    summary = name.replace("_", " ").capitalize()
    return Endpoint(method, path, handler, summary=summary, tag=tag, name=name, **options)


ENDPOINTS = [
    sample("GET", "/api/items", "list_items", query_model=ListQuery, response=Page[Item]),
    sample(
        "GET", r"/api/items/{id:\d+}", "get_item", path_model=ItemPath, response=Item, errors=(404,)
    ),
    sample(
        "POST",
        "/api/items",
        "create_item",
        body_model=ItemCreate,
        response=Item,
        status=201,
        errors=(409,),
    ),
    sample("DELETE", r"/api/items/{id:\d+}", "delete_item", path_model=ItemPath, errors=(404,)),
    sample("GET", "/api/menu", "menu", tag="public", response=list[Item], auth=False),
]


async def plain_route(_request: web.Request) -> web.Response:
    return web.Response(text="<Response/>", content_type="application/xml")


WEBHOOK_PATHS: dict[str, Any] = {
    "/webhooks/answer": {
        "post": {
            "operationId": "answer_call",
            "summary": "Plivo answer webhook",
            "tags": ["telephony"],
            "requestBody": {
                "content": {"application/x-www-form-urlencoded": {"schema": {"type": "object"}}}
            },
            "responses": {
                "200": {"description": "Plivo XML", "content": {"application/xml": {}}},
                "403": {
                    "description": "Bad signature",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/HTTPError"}}
                    },
                },
            },
        }
    }
}
EXTRA_PATHS = SERVICE_PATHS | WEBHOOK_PATHS


def sample_document() -> dict[str, Any]:
    return openapi_document(ENDPOINTS, title="Sample", version="1.2.3", extra_paths=EXTRA_PATHS)


def sample_app() -> web.Application:
    app = web.Application()
    add_endpoints(app, ENDPOINTS)
    for path, item in SERVICE_PATHS.items():
        for method in item.keys() & OPERATION_METHODS:
            app.router.add_route(method.upper(), path, plain_route)
    app.router.add_post("/webhooks/answer", plain_route)
    app.router.add_routes(docs_routes(sample_document))
    return app


def app_operations(app: web.Application) -> set[tuple[str, str]]:
    """(method, OpenAPI path) of every route but the docs' own and aiohttp's implicit HEADs."""
    found = set()
    for route in app.router.routes():
        path = route.resource.canonical if route.resource is not None else ""
        if route.method == "HEAD" or is_docs_path(path):
            continue
        found.add((route.method.lower(), openapi_path(path)))
    return found


def spec_operations(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (method, path)
        for path, item in document["paths"].items()
        for method in item
        if method in OPERATION_METHODS
    }


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


def assert_refs_resolve(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    for ref in refs(document):
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.removeprefix("#/components/schemas/") in schemas, ref
    assert all(COMPONENT_NAME.match(name) for name in schemas), sorted(schemas)


def operation(document: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    result: dict[str, Any] = document["paths"][path][method]
    return result


def params(op: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in op.get("parameters", [])}


def component(document: dict[str, Any], ref: str) -> dict[str, Any]:
    result: dict[str, Any] = document["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    return result


async def test_served_document_validates_and_covers_every_route(aiohttp_client):
    app = sample_app()
    client = await aiohttp_client(app)
    response = await client.get("/openapi.json")
    assert response.status == 200
    document = await response.json()

    validate(document)
    assert document["openapi"] == "3.1.0"
    assert document["info"] == {"title": "Sample", "version": "1.2.3"}
    assert spec_operations(document) == app_operations(app)
    assert_refs_resolve(document)


def test_document_is_deterministic_with_sorted_paths():
    first, second = sample_document(), sample_document()
    assert json.dumps(first) == json.dumps(second)
    assert list(first["paths"]) == sorted(first["paths"])
    assert list(first["paths"]["/api/items/{id}"]) == ["get", "delete"]
    assert [tag["name"] for tag in first["tags"]] == ["items", "public", "service", "telephony"]


def test_operations_carry_id_summary_tag_and_docstring():
    op = operation(sample_document(), "get", "/api/items")
    assert op["operationId"] == "list_items"
    assert op["summary"] == "List items"
    assert op["tags"] == ["items"]
    assert op["description"] == "Do the sample thing."


def test_query_parameters_keep_constraints_and_requiredness():
    query = params(operation(sample_document(), "get", "/api/items"))
    assert set(query) == {"skip", "limit", "status", "day", "tag"}
    assert all(p["in"] == "query" for p in query.values())
    assert query["skip"]["required"] is False
    assert query["skip"]["schema"] == {
        "default": 0,
        "maximum": 1_000_000,
        "minimum": 0,
        "title": "Skip",
        "type": "integer",
    }
    assert query["limit"]["description"] == "Page size"
    assert query["limit"]["schema"]["maximum"] == 200
    assert query["day"]["required"] is True
    assert query["day"]["schema"]["format"] == "date"
    assert query["tag"]["schema"]["type"] == "array"
    status_ref = query["status"]["schema"]["anyOf"][0]["$ref"]
    assert component(sample_document(), status_ref)["enum"] == ["booked", "cancelled"]


def test_path_parameters_are_typed_and_the_regex_is_stripped():
    document = sample_document()
    assert "/api/items/{id}" in document["paths"]
    assert not any(":" in path for path in document["paths"])
    for method in ("get", "delete"):
        (param,) = operation(document, method, "/api/items/{id}")["parameters"]
        assert param == {
            "name": "id",
            "in": "path",
            "required": True,
            "schema": {"title": "Id", "type": "integer"},
        }


def test_request_body_refers_to_a_strict_input_schema():
    document = sample_document()
    body = operation(document, "post", "/api/items")["requestBody"]
    assert body["required"] is True
    schema = body["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/ItemCreate"}
    created = component(document, schema["$ref"])
    assert created["additionalProperties"] is False
    assert created["properties"]["name"]["maxLength"] == 80
    assert created["properties"]["day"]["format"] == "date"


def test_responses_use_serialization_schemas():
    document = sample_document()
    listed = operation(document, "get", "/api/items")["responses"]["200"]
    page = component(document, listed["content"]["application/json"]["schema"]["$ref"])
    item_ref = page["properties"]["items"]["items"]["$ref"]
    item = component(document, item_ref)
    assert item["properties"]["label"]["readOnly"] is True  # computed fields are output-only
    created = operation(document, "post", "/api/items")["responses"]
    assert created["201"]["content"]["application/json"]["schema"] == {"$ref": item_ref}
    menu = operation(document, "get", "/api/menu")["responses"]["200"]
    assert menu["content"]["application/json"]["schema"] == {
        "type": "array",
        "items": {"$ref": item_ref},
    }


def test_a_model_that_differs_by_mode_gets_input_and_output_components():
    echo = Endpoint(
        "PUT", "/api/echo", handler, "Echo", "t", "echo", body_model=Item, response=Item
    )
    document = openapi_document([echo], title="t", version="1")
    validate(document)
    op = operation(document, "put", "/api/echo")
    assert op["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("Item-Input")
    answer = op["responses"]["200"]["content"]["application/json"]["schema"]
    assert answer["$ref"].endswith("Item-Output")
    assert "label" not in component(document, "Item-Input")["properties"]


def test_delete_answers_204_without_content():
    responses = operation(sample_document(), "delete", "/api/items/{id}")["responses"]
    assert responses["204"] == {"description": "Successful Response"}
    assert "200" not in responses


def test_errors_are_documented_with_fastapi_shapes():
    document = sample_document()
    refs_by_status = {
        (path, method, status): answer["content"]["application/json"]["schema"]["$ref"]
        for path, item in document["paths"].items()
        if path.startswith("/api/")
        for method, op in item.items()
        for status, answer in op["responses"].items()
        if status.startswith(("4", "5"))
    }
    assert refs_by_status
    for (_path, _method, status), ref in refs_by_status.items():
        expected = "HTTPValidationError" if status == "422" else "HTTPError"
        assert ref == f"#/components/schemas/{expected}"
    responses = operation(document, "get", "/api/items/{id}")["responses"]
    assert sorted(responses) == ["200", "401", "404", "422"]
    assert sorted(operation(document, "post", "/api/items")["responses"]) == [
        "201",
        "400",
        "401",
        "409",
        "413",
        "422",
    ]

    schemas = document["components"]["schemas"]
    assert schemas["HTTPValidationError"]["properties"]["detail"] == {
        "title": "Detail",
        "type": "array",
        "items": {"$ref": "#/components/schemas/ValidationError"},
    }
    validation_error = schemas["ValidationError"]
    assert validation_error["required"] == ["loc", "msg", "type"]
    assert validation_error["properties"]["loc"]["items"] == {
        "anyOf": [{"type": "string"}, {"type": "integer"}]
    }
    assert schemas["HTTPError"]["required"] == ["detail"]
    assert set(schemas["HTTPError"]["properties"]) == {"detail", "code"}


def test_every_endpoint_with_input_documents_422():
    document = sample_document()
    for endpoint in ENDPOINTS:
        op = operation(document, endpoint.method.lower(), openapi_path(endpoint.path))
        has_input = "parameters" in op or "requestBody" in op
        assert ("422" in op["responses"]) == has_input, endpoint.name
    assert "422" not in operation(document, "get", "/api/menu")["responses"]


def test_auth_endpoints_have_security_and_401_and_public_ones_not():
    document = sample_document()
    assert document["components"]["securitySchemes"] == {
        "bearerAuth": {"type": "http", "scheme": "bearer"}
    }
    for endpoint in ENDPOINTS:
        op = operation(document, endpoint.method.lower(), openapi_path(endpoint.path))
        if endpoint.auth:
            assert op["security"] == [{"bearerAuth": []}], endpoint.name
            assert op["responses"]["401"]["description"] == "Unauthorized"
        else:
            assert "security" not in op and "401" not in op["responses"], endpoint.name


def test_extra_paths_are_merged_and_unused_components_pruned():
    document = sample_document()
    assert document["paths"]["/webhooks/answer"] == WEBHOOK_PATHS["/webhooks/answer"]
    assert "get" in document["paths"]["/health"]
    schemas = document["components"]["schemas"]
    assert "ListQuery" not in schemas and "ItemPath" not in schemas

    health = {path: SERVICE_PATHS[path] for path in ("/health", "/health/detailed")}
    bare = openapi_document([], title="t", version="1", extra_paths=health)
    validate(bare)
    assert bare["components"]["schemas"] == {}
    services = openapi_document([], title="t", version="1", extra_paths=SERVICE_PATHS)
    validate(services)
    assert set(services["components"]["schemas"]) == {
        "HTTPError",
        "HTTPValidationError",
        "ValidationError",
    }


def test_conflicts_are_refused():
    with pytest.raises(ValueError, match="Two definitions of GET /api/menu"):
        openapi_document(
            ENDPOINTS,
            title="t",
            version="1",
            extra_paths={"/api/menu": {"get": {"responses": {"200": {"description": "x"}}}}},
        )
    twin = Endpoint("GET", "/api/other", handler, "Other", "t", "menu", auth=False)
    with pytest.raises(ValueError, match="Duplicate operationId: menu"):
        openapi_document([*ENDPOINTS, twin], title="t", version="1")
    stray = Endpoint("GET", "/api/x", handler, "X", "t", "x", path_model=ItemPath)
    with pytest.raises(ValueError, match=r"path model fields \['id'\] not in /api/x"):
        openapi_document([stray], title="t", version="1")


@pytest.mark.parametrize(
    ("aiohttp_path", "expected"),
    [
        ("/api/items", "/api/items"),
        ("/api/items/{id}", "/api/items/{id}"),
        (r"/api/items/{id:\d+}", "/api/items/{id}"),
        (r"/a/{day:\d{4}-\d{2}-\d{2}}/b/{slug}", "/a/{day}/b/{slug}"),
    ],
)
def test_openapi_path_strips_aiohttp_regexes(aiohttp_path: str, expected: str):
    assert openapi_path(aiohttp_path) == expected


def test_untyped_path_names_become_string_parameters():
    bare = Endpoint("GET", "/api/by/{slug}", handler, "By slug", "t", "by_slug")
    document = openapi_document([bare], title="t", version="1")
    validate(document)
    (param,) = operation(document, "get", "/api/by/{slug}")["parameters"]
    assert param == {"name": "slug", "in": "path", "required": True, "schema": {"type": "string"}}


def real_endpoints(app: web.Application) -> list[Endpoint]:
    key = getattr(keys, "ENDPOINTS", None)
    if key is None:
        pytest.skip("api.keys has no ENDPOINTS app key yet (the endpoint list of create_app)")
    if key not in app:
        pytest.skip("create_app does not set app[ENDPOINTS] yet")
    return list(app[key])


async def test_real_app_document_validates_and_lists_every_route(app: web.Application):
    document = openapi_document(
        real_endpoints(app),
        title="Vartalaap API",
        version=importlib.metadata.version("vartalaap"),
        extra_paths=SERVICE_PATHS,
    )
    validate(document)
    assert_refs_resolve(document)
    assert spec_operations(document) == app_operations(app)


async def test_real_app_serves_its_document(aiohttp_client, app: web.Application):
    if not any(r.resource and r.resource.canonical == "/openapi.json" for r in app.router.routes()):
        pytest.skip("create_app does not add docs_routes yet")
    client = await aiohttp_client(app)
    response = await client.get("/openapi.json")
    assert response.status == 200
    document = await response.json()
    validate(document)
    assert_refs_resolve(document)
    assert spec_operations(document) == app_operations(app)
