"""A declared route: its inputs and output as pydantic models, for validation and for OpenAPI.

Handlers never parse requests themselves: the path, query and body are validated against the
endpoint's models before the handler runs, and the handler's return value is serialised with
the response model. The same declaration feeds the OpenAPI document, so the docs cannot drift
from what the server accepts.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from aiohttp import web
from pydantic import BaseModel, TypeAdapter, ValidationError

from api.errors import RequestValidationError, problem

PathT = TypeVar("PathT", bound=BaseModel)
QueryT = TypeVar("QueryT", bound=BaseModel)
BodyT = TypeVar("BodyT", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Inputs(Generic[PathT, QueryT, BodyT]):
    """A request's validated inputs; ``None`` where the endpoint declares none."""

    request: web.Request
    path: PathT
    query: QueryT
    body: BodyT


class NoInput(BaseModel):
    """Stands for an input an endpoint does not take."""


EndpointHandler = Callable[[Inputs[Any, Any, Any]], Awaitable[Any]]


@dataclass(frozen=True)
class Endpoint:
    """One route of the JSON API.

    Attributes:
        method: HTTP method.
        path: aiohttp path pattern, e.g. ``/api/reservations/{id}``.
        handler: Called with the validated :class:`Inputs`; returns what ``response`` describes
            (or ``None`` for a 204).
        summary: One line for the docs.
        tag: Docs group.
        name: Unique operation id.
        path_model: Model of the path parameters.
        query_model: Model of the query string.
        body_model: Model of the JSON body.
        body_required: Whether an empty body is an error (else it counts as ``{}``).
        response: Type of the answer (a model, ``list[Model]``, ...); ``None`` for no body.
        status: Status of a successful answer.
        errors: Other statuses the endpoint answers with, for the docs.
        auth: Whether the admin bearer token is required.
    """

    method: str
    path: str
    handler: EndpointHandler
    summary: str
    tag: str
    name: str
    path_model: type[BaseModel] = NoInput
    query_model: type[BaseModel] = NoInput
    body_model: type[BaseModel] | None = None
    body_required: bool = True
    response: Any = None
    status: int = 200
    errors: tuple[int, ...] = ()
    auth: bool = True
    _adapter: TypeAdapter[Any] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        """Build the response serialiser once."""
        if self.response is not None:
            object.__setattr__(self, "_adapter", TypeAdapter(self.response))

    async def handle(self, request: web.Request) -> web.Response:
        """Validate, run the handler, serialise."""
        inputs = Inputs(
            request=request,
            path=_validate(self.path_model, dict(request.match_info), "path"),
            query=_validate(self.query_model, _query_values(request, self.query_model), "query"),
            body=await _body(request, self.body_model, self.body_required),
        )

        result = await self.handler(inputs)

        if self._adapter is None or result is None:
            return web.Response(status=204 if self.status == 200 else self.status)
        payload = self._adapter.dump_json(result, by_alias=True)
        return web.Response(body=payload, status=self.status, content_type="application/json")


def add_endpoints(app: web.Application, endpoints: Iterable[Endpoint]) -> None:
    """Register endpoints as aiohttp routes."""
    for endpoint in endpoints:
        app.router.add_route(endpoint.method, endpoint.path, endpoint.handle, name=endpoint.name)


def _validate(model: type[BaseModel], values: dict[str, Any], where: str) -> Any:
    if model is NoInput:
        return None
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise RequestValidationError.from_pydantic(exc, where) from None


def _query_values(request: web.Request, model: type[BaseModel]) -> dict[str, Any]:
    """The query string as a dict; a name given twice keeps every value for list fields."""
    values: dict[str, Any] = {}
    for key in request.query:
        found = request.query.getall(key)
        info = model.model_fields.get(key)
        is_list = info is not None and getattr(info.annotation, "__origin__", None) is list
        values[key] = found if is_list else found[-1]
    return values


async def _body(request: web.Request, model: type[BaseModel] | None, required: bool) -> Any:
    if model is None:
        return None
    raw = await request.read()
    if not raw:
        if not required:
            return _validate(model, {}, "body")
        raise problem(["body"], "Field required", "missing")
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise web.HTTPBadRequest(reason=f"Malformed JSON body: {exc}") from None
    return _validate(model, data, "body") if isinstance(data, dict) else _not_object(data)


def _not_object(data: object) -> Any:
    raise problem(["body"], "Input should be a valid dictionary or object", "model_type")
