"""Call logs (read-only), caller preferences, WhatsApp follow-ups and the audit log."""

from __future__ import annotations

import datetime as dt
from typing import Any

from aiohttp import web
from pydantic import BaseModel
from sqlalchemy import ColumnElement

from api.crud import READ_ONLY, AuditedWriter, Resource, Route
from api.errors import problem
from api.keys import DATABASE
from api.schemas.calls import (
    AuditFilters,
    AuditRead,
    CallLogFilters,
    CallLogRead,
    FollowupCreate,
    FollowupFilters,
    FollowupPatch,
    FollowupRead,
    FollowupUpdate,
    PreferencesCreate,
    PreferencesFilters,
    PreferencesPatch,
    PreferencesRead,
    PreferencesUpdate,
)
from bot.phone import mask_phone, phone_hash
from store.errors import ConflictError
from store.models import AuditLog, CallerPreferences, CallLog, Reservation, WhatsappFollowup


def _day_range(
    column: Any, date_from: dt.date | None, date_to: dt.date | None
) -> list[ColumnElement[bool]]:
    """Conditions keeping ``column`` (a UTC instant) within whole days, inclusive."""
    conditions = []
    if date_from is not None:
        conditions.append(column >= dt.datetime.combine(date_from, dt.time(), dt.UTC))
    if date_to is not None:
        day_after = date_to + dt.timedelta(days=1)
        conditions.append(column < dt.datetime.combine(day_after, dt.time(), dt.UTC))
    return conditions


def _call_log_where(filters: CallLogFilters) -> list[ColumnElement[bool]]:
    conditions = _day_range(CallLog.started_at, filters.date_from, filters.date_to)
    if filters.business_id is not None:
        conditions.append(CallLog.business_id == filters.business_id)
    if filters.outcome is not None:
        conditions.append(CallLog.outcome == filters.outcome)
    return conditions


CALL_LOGS: Resource[CallLog] = Resource(
    name="Call log",
    prefix="/api/call-logs",
    model=CallLog,
    read=CallLogRead,
    filters=CallLogFilters,
    where=_call_log_where,
    order_by=lambda: (CallLog.started_at.desc(), CallLog.id.desc()),
    routes=READ_ONLY,
)


def _preferences_columns(values: dict[str, Any]) -> dict[str, Any]:
    """Keep a caller's number only as a hash and a mask."""
    phone = values.pop("phone", None)
    if phone is not None:
        values["caller_hash"] = phone_hash(phone)
        values["caller_masked"] = mask_phone(phone)
    return values


def _preferences_where(filters: PreferencesFilters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.business_id is not None:
        conditions.append(CallerPreferences.business_id == filters.business_id)
    if filters.phone is not None:
        conditions.append(CallerPreferences.caller_hash == phone_hash(filters.phone))
    return conditions


class PreferencesWriter(AuditedWriter[CallerPreferences]):
    """Preferences are unique per caller and business: a second one is a 409."""

    async def create(self, request: web.Request, body: BaseModel) -> CallerPreferences:
        """Remember a caller, unless they are remembered already."""
        assert isinstance(body, PreferencesCreate)
        async with request.app[DATABASE].read() as session:
            existing = await session.scalar(
                CallerPreferences.__table__.select()
                .with_only_columns(CallerPreferences.id)
                .where(
                    CallerPreferences.business_id == body.business_id,
                    CallerPreferences.caller_hash == phone_hash(body.phone),
                )
            )
        if existing is not None:
            raise ConflictError(f"preferences for this caller already exist (id {existing})")
        return await super().create(request, body)


PREFERENCES: Resource[CallerPreferences] = Resource(
    name="Caller preferences",
    prefix="/api/caller-preferences",
    model=CallerPreferences,
    read=PreferencesRead,
    create=PreferencesCreate,
    replace=PreferencesUpdate,
    patch=PreferencesPatch,
    filters=PreferencesFilters,
    where=_preferences_where,
    order_by=lambda: (CallerPreferences.id,),
    writer=PreferencesWriter(CallerPreferences, "Caller preferences", _preferences_columns),
)


class FollowupWriter(AuditedWriter[WhatsappFollowup]):
    """A follow-up must belong to a reservation that exists."""

    async def create(self, request: web.Request, body: BaseModel) -> WhatsappFollowup:
        """Queue a follow-up for an existing reservation."""
        assert isinstance(body, FollowupCreate)
        async with request.app[DATABASE].read() as session:
            if await session.get(Reservation, body.reservation_id) is None:
                raise problem(
                    ["body", "reservation_id"], "no such reservation", "unknown_reservation"
                )
        return await super().create(request, body)


def _followup_where(filters: FollowupFilters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.reservation_id is not None:
        conditions.append(WhatsappFollowup.reservation_id == filters.reservation_id)
    if filters.status is not None:
        conditions.append(WhatsappFollowup.status == filters.status)
    return conditions


FOLLOWUPS: Resource[WhatsappFollowup] = Resource(
    name="WhatsApp follow-up",
    prefix="/api/whatsapp-followups",
    model=WhatsappFollowup,
    read=FollowupRead,
    create=FollowupCreate,
    replace=FollowupUpdate,
    patch=FollowupPatch,
    filters=FollowupFilters,
    where=_followup_where,
    order_by=lambda: (WhatsappFollowup.id,),
    writer=FollowupWriter(WhatsappFollowup, "WhatsApp follow-up"),
)


def _audit_where(filters: AuditFilters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.entity is not None:
        conditions.append(AuditLog.entity == filters.entity)
    if filters.entity_id is not None:
        conditions.append(AuditLog.entity_id == filters.entity_id)
    if filters.actor is not None:
        conditions.append(AuditLog.actor == filters.actor)
    return conditions


AUDIT_LOG: Resource[AuditLog] = Resource(
    name="Audit entry",
    prefix="/api/audit-log",
    model=AuditLog,
    read=AuditRead,
    filters=AuditFilters,
    where=_audit_where,
    order_by=lambda: (AuditLog.id.desc(),),
    routes=frozenset({Route.LIST}),
)
