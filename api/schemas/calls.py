"""Call log, caller preference, WhatsApp follow-up and audit log models."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import AwareDatetime, Field

from api.schemas.common import MAX_ID, ListQuery, Name, Patch, Phone, Read, Slug, Strict
from store.models import CallOutcome, FollowupStatus


class CallLogSummary(Read):
    """A call in a list: who, when, how it ended."""

    id: int
    call_uuid: str
    business_id: str | None
    caller: str | None = Field(validation_alias="caller_masked", description="Masked number.")
    direction: str
    started_at: dt.datetime
    ended_at: dt.datetime | None
    duration_secs: int | None
    hangup_cause: str | None
    outcome: CallOutcome


class CallLogRead(CallLogSummary):
    """A call in full: transcript, tool calls and latency per turn."""

    transcript: list[Any]
    tool_calls: list[Any]
    turn_latencies: list[Any]
    errors: list[Any]


class CallLogFilters(ListQuery):
    """Filters of the call log list."""

    business_id: Slug | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    outcome: CallOutcome | None = None


class PreferencesRead(Read):
    """What the bot remembers about a caller."""

    id: int
    business_id: str
    caller: str | None = Field(validation_alias="caller_masked", description="Masked number.")
    name: str | None
    preferred_language: str | None
    usual_party_size: int | None
    call_count: int
    last_call_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime


class PreferencesCreate(Strict):
    """Remember a caller: the number is stored only hashed and masked."""

    business_id: Slug
    phone: Phone
    name: Name | None = None
    preferred_language: str | None = Field(None, pattern=r"^(en|hi)$")
    usual_party_size: int | None = Field(None, ge=1, le=1000)


class PreferencesUpdate(Strict):
    """Every changeable preference (``PUT``)."""

    name: Name | None = None
    preferred_language: str | None = Field(None, pattern=r"^(en|hi)$")
    usual_party_size: int | None = Field(None, ge=1, le=1000)


class PreferencesPatch(PreferencesUpdate):
    """Some preferences (``PATCH``)."""


class PreferencesFilters(ListQuery):
    """Filters of the caller preference list."""

    business_id: Slug | None = None
    phone: Phone | None = None


class FollowupRead(Read):
    """A WhatsApp message owed to a guest."""

    id: int
    reservation_id: int
    template: str
    parameters: dict[str, Any]
    status: FollowupStatus
    attempts: int
    last_error: str | None
    next_attempt_at: dt.datetime | None
    sent_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime


class FollowupCreate(Strict):
    """Queue a WhatsApp message about a reservation."""

    reservation_id: int = Field(ge=1, le=MAX_ID)
    template: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$")
    parameters: dict[str, str | int] = Field(default_factory=dict, max_length=20)
    next_attempt_at: AwareDatetime | None = None


class FollowupUpdate(Strict):
    """Every changeable field of a follow-up (``PUT``)."""

    template: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$")
    parameters: dict[str, str | int] = Field(default_factory=dict, max_length=20)
    status: FollowupStatus
    next_attempt_at: AwareDatetime | None = None


class FollowupPatch(Patch):
    """Some fields of a follow-up (``PATCH``)."""

    _not_null = ("template", "parameters", "status")

    template: str | None = Field(None, min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$")
    parameters: dict[str, str | int] | None = Field(None, max_length=20)
    status: FollowupStatus | None = None
    next_attempt_at: AwareDatetime | None = None


class FollowupFilters(ListQuery):
    """Filters of the follow-up list."""

    reservation_id: int | None = Field(None, ge=1, le=MAX_ID)
    status: FollowupStatus | None = None


class AuditRead(Read):
    """One change: who made it, when, and the record before and after."""

    id: int
    at: dt.datetime
    actor: str
    action: str
    entity: str
    entity_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class AuditFilters(ListQuery):
    """Filters of the audit log."""

    entity: str | None = Field(None, max_length=32)
    entity_id: str | None = Field(None, max_length=64)
    actor: str | None = Field(None, max_length=120)
