"""CRUD generation: one call builds a resource's list/get/create/replace/patch/delete routes.

In the spirit of fastapi-crudrouter: a SQLAlchemy model plus its pydantic read, create and
update schemas make the routes and their OpenAPI entries. Each route can be switched off, a
resource can write through its own :class:`Writer` (reservations go through the booking rules),
and hand-written endpoints sit beside the generated ones.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar, cast

from aiohttp import web
from pydantic import BaseModel, TypeAdapter
from sqlalchemy import ColumnElement, Connection, bindparam, func, select

from api.endpoint import Endpoint, Inputs
from api.keys import DATABASE
from api.schemas.common import IdPath, ListQuery, Page
from store.audit import record_change, snapshot
from store.db import count_rows, select_rows
from store.errors import NotFoundError
from store.models import Base

ModelT = TypeVar("ModelT", bound=Base)
ACTOR_HEADER = "X-Actor"


class Route(enum.StrEnum):
    """The generated routes a resource can switch on or off."""

    LIST = "list"
    GET = "get"
    CREATE = "create"
    REPLACE = "replace"
    PATCH = "patch"
    DELETE = "delete"


ALL_ROUTES = frozenset(Route)
READ_ONLY = frozenset({Route.LIST, Route.GET})


ModelT_co = TypeVar("ModelT_co", bound=Base, covariant=True)


class Writer(Protocol[ModelT_co]):
    """How a resource's records are created, changed and deleted."""

    async def create(self, request: web.Request, body: BaseModel) -> ModelT_co:
        """Store a new record from a validated create body."""
        ...

    async def update(
        self, request: web.Request, record_id: int, changes: dict[str, Any]
    ) -> ModelT_co:
        """Apply changes (already validated, only the fields given) to a record."""
        ...

    async def delete(self, request: web.Request, record_id: int) -> None:
        """Delete a record."""
        ...


@dataclass(frozen=True)
class Resource(Generic[ModelT]):
    """Everything the generator needs to know about one resource.

    Attributes:
        name: Singular display name (``Reservation``); used in messages and operation ids.
        prefix: Collection path (``/api/reservations``).
        model: The SQLAlchemy model.
        read: Response schema of one record.
        create: Body of ``POST``; ``None`` switches the route off.
        replace: Body of ``PUT`` (every field); ``None`` switches it off.
        patch: Body of ``PATCH`` (optional fields); ``None`` switches it off.
        filters: Query model of the list (pagination plus filters).
        where: Turns validated filters into SQL conditions.
        order_by: Sort order of the list.
        routes: Which generated routes exist.
        writer: How writes happen; defaults to plain audited inserts, updates and deletes.
        extra: Hand-written endpoints, registered before the generated ones.
    """

    name: str
    prefix: str
    model: type[ModelT]
    read: type[BaseModel]
    create: type[BaseModel] | None = None
    replace: type[BaseModel] | None = None
    patch: type[BaseModel] | None = None
    filters: type[ListQuery] = ListQuery
    where: Callable[[Any], Sequence[ColumnElement[bool]]] = lambda _filters: ()
    order_by: Callable[[], Sequence[Any]] = lambda: ()
    routes: frozenset[Route] = ALL_ROUTES
    writer: Writer[ModelT] | None = None
    extra: Sequence[Endpoint] = field(default_factory=tuple)

    @property
    def tag(self) -> str:
        """Docs group of the resource's routes."""
        return self.prefix.rsplit("/", 1)[-1]


def actor(request: web.Request) -> str:
    """Who is making an API change: ``admin``, or ``admin:<name>`` from the X-Actor header."""
    given = "".join(ch for ch in request.headers.get(ACTOR_HEADER, "") if ch.isprintable())
    given = given.strip()[:60]
    return f"admin:{given}" if given else "admin"


def crud_endpoints(resource: Resource[Any]) -> list[Endpoint]:
    """The endpoints of a resource: its hand-written ones first, then the generated ones."""
    model, read = resource.model, resource.read
    table = model.metadata.tables[model.__tablename__]
    by_id = select(table).where(table.c.id == bindparam("record_id"))
    page_adapter: TypeAdapter[list[Any]] = TypeAdapter(list[read])  # type: ignore[valid-type]
    writer: Writer[Any] = resource.writer or AuditedWriter(resource.model, resource.name)
    slug = re.sub(r"[^a-z0-9]+", "_", resource.name.lower())
    plural = resource.tag.replace("-", "_")
    item = f"{resource.prefix}/{{id}}"
    missing = f"{resource.name} not found"

    async def list_records(inputs: Inputs[Any, Any, Any]) -> Page[Any]:
        filters: ListQuery = inputs.query

        def query(connection: Connection) -> Page[Any]:
            conditions = resource.where(filters)
            counted = select(func.count()).select_from(table).where(*conditions)
            key = (table.name, filters.model_dump_json(exclude={"skip", "limit"}))
            total = count_rows(connection, counted, key)
            # Page through ids first: the skipped rows are passed over in an index, and only
            # the page's own rows are read from the table.
            page_ids = (
                select(table.c.id)
                .where(*conditions)
                .order_by(*resource.order_by())
                .offset(filters.skip)
                .limit(filters.limit)
            )
            chosen = select(table).where(table.c.id.in_(page_ids)).order_by(*resource.order_by())
            items = page_adapter.validate_python(select_rows(connection, chosen))
            return Page(items=items, total=total, skip=filters.skip, limit=filters.limit)

        return await inputs.request.app[DATABASE].run_read(query)

    async def get_record(inputs: Inputs[IdPath, Any, Any]) -> BaseModel:
        record_id = inputs.path.id

        def query(connection: Connection) -> BaseModel | None:
            rows = select_rows(connection, by_id, {"record_id": record_id})
            return read.model_validate(rows[0]) if rows else None

        found = await inputs.request.app[DATABASE].run_read(query)
        if found is None:
            raise NotFoundError(missing)
        return found

    async def create_record(inputs: Inputs[Any, Any, BaseModel]) -> BaseModel:
        return read.model_validate(await writer.create(inputs.request, inputs.body))

    async def replace_record(inputs: Inputs[IdPath, Any, BaseModel]) -> BaseModel:
        changes = inputs.body.model_dump()
        return read.model_validate(await writer.update(inputs.request, inputs.path.id, changes))

    async def patch_record(inputs: Inputs[IdPath, Any, BaseModel]) -> BaseModel:
        changes = inputs.body.model_dump(exclude_unset=True)
        return read.model_validate(await writer.update(inputs.request, inputs.path.id, changes))

    async def delete_record(inputs: Inputs[IdPath, Any, Any]) -> None:
        await writer.delete(inputs.request, inputs.path.id)

    on = resource.routes
    name = resource.name
    endpoints = list(resource.extra)
    if Route.LIST in on:
        endpoints.append(
            Endpoint(
                "GET",
                resource.prefix,
                list_records,
                f"List {name.lower()}s",
                resource.tag,
                f"list_{plural}",
                query_model=resource.filters,
                response=cast(Any, Page)[read],
            )
        )
    if Route.CREATE in on and resource.create is not None:
        endpoints.append(
            Endpoint(
                "POST",
                resource.prefix,
                create_record,
                f"Create a {name.lower()}",
                resource.tag,
                f"create_{slug}",
                body_model=resource.create,
                response=read,
                status=201,
                errors=(409,),
            )
        )
    if Route.GET in on:
        endpoints.append(
            Endpoint(
                "GET",
                item,
                get_record,
                f"Get a {name.lower()}",
                resource.tag,
                f"get_{slug}",
                path_model=IdPath,
                response=read,
                errors=(404,),
            )
        )
    if Route.REPLACE in on and resource.replace is not None:
        endpoints.append(
            Endpoint(
                "PUT",
                item,
                replace_record,
                f"Replace a {name.lower()}",
                resource.tag,
                f"replace_{slug}",
                path_model=IdPath,
                body_model=resource.replace,
                response=read,
                errors=(404, 409),
            )
        )
    if Route.PATCH in on and resource.patch is not None:
        endpoints.append(
            Endpoint(
                "PATCH",
                item,
                patch_record,
                f"Update a {name.lower()}",
                resource.tag,
                f"update_{slug}",
                path_model=IdPath,
                body_model=resource.patch,
                response=read,
                errors=(404, 409),
            )
        )
    if Route.DELETE in on:
        endpoints.append(
            Endpoint(
                "DELETE",
                item,
                delete_record,
                f"Delete a {name.lower()}",
                resource.tag,
                f"delete_{slug}",
                path_model=IdPath,
                status=204,
                errors=(404,),
            )
        )
    return endpoints


class AuditedWriter(Generic[ModelT]):
    """Plain inserts, updates and deletes, each with its audit row in the same transaction.

    Args:
        model: The model written to.
        name: Its display name, for "not found" messages.
        to_columns: Maps a validated body's fields to the model's columns (defaults to as-is).
    """

    def __init__(
        self,
        model: type[ModelT],
        name: str,
        to_columns: Callable[[dict[str, Any]], dict[str, Any]] = lambda values: values,
    ) -> None:
        self.model = model
        self.name = name
        self.to_columns = to_columns

    async def create(self, request: web.Request, body: BaseModel) -> ModelT:
        """Insert a record built from the body."""
        async with request.app[DATABASE].write(self.model.__tablename__) as session:
            record = self.model(**self.to_columns(body.model_dump()))
            session.add(record)
            await session.flush()
            record_change(
                session, actor=actor(request), action="create", record=record, before=None
            )
        return record

    async def update(self, request: web.Request, record_id: int, changes: dict[str, Any]) -> ModelT:
        """Change the given fields of a record."""
        async with request.app[DATABASE].write(self.model.__tablename__) as session:
            record = await self._get(session, record_id)
            before = snapshot(record)
            for key, value in self.to_columns(changes).items():
                setattr(record, key, value)
            await session.flush()
            record_change(
                session, actor=actor(request), action="update", record=record, before=before
            )
        return record

    async def delete(self, request: web.Request, record_id: int) -> None:
        """Delete a record."""
        async with request.app[DATABASE].write(self.model.__tablename__) as session:
            record = await self._get(session, record_id)
            before = snapshot(record)
            await session.delete(record)
            record_change(
                session, actor=actor(request), action="delete", record=record, before=before
            )

    async def _get(self, session: Any, record_id: int) -> ModelT:
        record = await session.get(self.model, record_id)
        if record is None:
            raise NotFoundError(f"{self.name} not found")
        return record
