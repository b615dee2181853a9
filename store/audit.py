"""The audit trail: every change to a record, who made it, and the record before and after."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import AuditLog, Base


def snapshot(record: Base) -> dict[str, Any]:
    """A record's column values as JSON-ready data (datetimes as ISO text, enums as values)."""
    values: dict[str, Any] = {}
    for column in inspect(record).mapper.column_attrs:
        values[column.key] = _jsonable(getattr(record, column.key))
    return values


def record_change(
    session: AsyncSession,
    *,
    actor: str,
    action: str,
    record: Base,
    before: dict[str, Any] | None,
) -> None:
    """Add an audit row for ``record`` to the session's transaction.

    Args:
        session: The session the change is being made in; the row commits with it.
        actor: Who made the change (``admin``, ``bot:<call id>``, ...).
        action: What was done (``create``, ``update``, ``cancel``, ``delete``).
        record: The changed record, flushed so that it has its id.
        before: The record's snapshot before the change, ``None`` for a creation.
    """
    after = None if action == "delete" else snapshot(record)
    identity = inspect(record).identity
    session.add(
        AuditLog(
            actor=actor,
            action=action,
            entity=record.__tablename__,
            entity_id=str(identity[0] if identity else getattr(record, "id", "")),
            before=before,
            after=after,
        )
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return value
