"""The audit trail: every change to a record, who made it, and the record before and after."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, insert, inspect
from sqlalchemy.ext.asyncio import AsyncSession

from store.db import Prepared
from store.models import AuditLog, Base, utcnow


def snapshot(record: Base) -> dict[str, Any]:
    """A record's column values as JSON-ready data (datetimes as ISO text, enums as values)."""
    return jsonable({c.key: getattr(record, c.key) for c in inspect(record).mapper.column_attrs})


def jsonable(values: Mapping[str, Any]) -> dict[str, Any]:
    """Column values as JSON-ready data."""
    return {key: _jsonable(value) for key, value in values.items()}


def audit_values(
    *,
    actor: str,
    action: str,
    entity: str,
    entity_id: object,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> dict[str, Any]:
    """The columns of one audit row."""
    return {
        "at": utcnow(),
        "actor": actor,
        "action": action,
        "entity": entity,
        "entity_id": str(entity_id),
        "before": before,
        "after": None if action == "delete" else after,
    }


def record_change(
    session: AsyncSession,
    *,
    actor: str,
    action: str,
    record: Base,
    before: dict[str, Any] | None,
) -> None:
    """Add an audit row for an ORM ``record`` to the session's transaction.

    Args:
        session: The session the change is being made in; the row commits with it.
        actor: Who made the change (``admin``, ``bot:<call id>``, ...).
        action: What was done (``create``, ``update``, ``cancel``, ``delete``).
        record: The changed record, flushed so that it has its id.
        before: The record's snapshot before the change, ``None`` for a creation.
    """
    identity = inspect(record).identity
    entity_id = identity[0] if identity else getattr(record, "id", "")
    values = audit_values(
        actor=actor,
        action=action,
        entity=record.__tablename__,
        entity_id=entity_id,
        before=before,
        after=snapshot(record),
    )
    session.add(AuditLog(**values))


def write_change(
    connection: Connection,
    *,
    actor: str,
    action: str,
    entity: str,
    entity_id: object,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
) -> None:
    """Insert an audit row on a Core connection, inside its transaction."""
    values = audit_values(
        actor=actor,
        action=action,
        entity=entity,
        entity_id=entity_id,
        before=jsonable(before) if before is not None else None,
        after=jsonable(after) if after is not None else None,
    )
    _INSERT_AUDIT.rows(connection, values)


_INSERT_AUDIT = Prepared(
    insert(AuditLog),
    column_keys=["at", "actor", "action", "entity", "entity_id", "before", "after"],
)


def _jsonable(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return value
