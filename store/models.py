"""SQLAlchemy 2 typed models: reservations, call logs, preferences, follow-ups, audit, nonces."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> dt.datetime:
    """The current instant, timezone-aware in UTC."""
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """An instant stored in UTC and always read back timezone-aware.

    SQLite keeps no zone, so a naive value read from it is known to be UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        """Refuse naive datetimes; convert aware ones to UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("UTCDateTime needs a timezone-aware datetime")
        return value.astimezone(dt.UTC)

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        """Attach UTC to values the database returned without a zone."""
        if value is None or value.tzinfo is not None:
            return value
        return value.replace(tzinfo=dt.UTC)


class Base(DeclarativeBase):
    """Declarative base; JSON columns map from ``dict`` and ``list``."""

    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class ReservationStatus(enum.StrEnum):
    """Where a reservation is in its life."""

    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"
    COMPLETED = "completed"
    NO_SHOW = "no_show"


class ReservationSource(enum.StrEnum):
    """Who made a reservation."""

    PHONE = "phone"
    ADMIN = "admin"


class CallOutcome(enum.StrEnum):
    """How a call ended, from the business's point of view."""

    IN_PROGRESS = "in_progress"
    BOOKED = "booked"
    CANCELLED = "cancelled"
    ENQUIRY = "enquiry"
    TRANSFERRED = "transferred"
    ABANDONED = "abandoned"
    FAILED = "failed"
    REJECTED = "rejected"


class FollowupStatus(enum.StrEnum):
    """Delivery state of a WhatsApp follow-up."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"


def _enum(cls: type[enum.StrEnum]) -> Enum:
    """A portable enum column storing the values, checked by a constraint."""
    return Enum(
        cls,
        values_callable=lambda members: [m.value for m in members],
        native_enum=False,
        create_constraint=True,
        length=16,
        name=cls.__name__.lower(),
    )


class TimestampMixin:
    """Creation and last-update instants, set by the store."""

    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Reservation(TimestampMixin, Base):
    """A table booked for a party at a local date and time of one business.

    ``starts_at`` is naive and local to the business's timezone: a restaurant's 19:00 stays 19:00
    whatever the server's zone. ``duration_minutes`` is fixed at booking time so that later changes
    to the business's dining duration do not rewrite history.
    """

    __tablename__ = "reservations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(12))
    business_id: Mapped[str] = mapped_column(String(64))
    customer_name: Mapped[str] = mapped_column(String(120))
    customer_phone: Mapped[str | None] = mapped_column(String(20))
    party_size: Mapped[int] = mapped_column(Integer)
    starts_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=False))
    duration_minutes: Mapped[int] = mapped_column(Integer)
    status: Mapped[ReservationStatus] = mapped_column(
        _enum(ReservationStatus), default=ReservationStatus.CONFIRMED
    )
    notes: Mapped[str | None] = mapped_column(Text)
    source: Mapped[ReservationSource] = mapped_column(
        _enum(ReservationSource), default=ReservationSource.ADMIN
    )
    call_id: Mapped[str | None] = mapped_column(String(64))
    cancelled_by: Mapped[str | None] = mapped_column(String(120))
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("business_id", "code", name="uq_reservations_business_code"),
        Index("ix_reservations_business_start", "business_id", "starts_at"),
        Index("ix_reservations_start", "starts_at"),
        Index("ix_reservations_phone", "customer_phone"),
        # Covers the availability query: only confirmed rows hold seats.
        Index(
            "ix_reservations_holding",
            "business_id",
            "starts_at",
            "duration_minutes",
            "party_size",
            "status",
            sqlite_where=text("status = 'confirmed'"),
            postgresql_where=text("status = 'confirmed'"),
        ),
    )

    @property
    def date(self) -> dt.date:
        """The local date the reservation starts on."""
        return self.starts_at.date()

    @property
    def time(self) -> dt.time:
        """The local time the reservation starts at."""
        return self.starts_at.time()

    @property
    def ends_at(self) -> dt.datetime:
        """When the table is free again."""
        return self.starts_at + dt.timedelta(minutes=self.duration_minutes)


class CallLog(TimestampMixin, Base):
    """One phone call: who, when, how it went, and what was said."""

    __tablename__ = "call_logs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_uuid: Mapped[str] = mapped_column(String(64), unique=True)
    business_id: Mapped[str | None] = mapped_column(String(64))
    caller_masked: Mapped[str | None] = mapped_column(String(24))
    caller_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    direction: Mapped[str] = mapped_column(String(16), default="inbound")
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    duration_secs: Mapped[int | None] = mapped_column(Integer)
    hangup_cause: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[CallOutcome] = mapped_column(
        _enum(CallOutcome), default=CallOutcome.IN_PROGRESS
    )
    # The caller's E.164 number, held only while the call lasts so that whichever server
    # process takes the audio websocket can identify the caller; cleared when the call ends.
    caller_number: Mapped[str | None] = mapped_column(String(20))
    to_number: Mapped[str | None] = mapped_column(String(20))
    # The nonce of the audio websocket's one-time token, and when that token was used.
    stream_nonce: Mapped[str | None] = mapped_column(String(32))
    stream_opened_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    transcript: Mapped[list[Any]] = mapped_column(default=list)
    tool_calls: Mapped[list[Any]] = mapped_column(default=list)
    turn_latencies: Mapped[list[Any]] = mapped_column(default=list)
    errors: Mapped[list[Any]] = mapped_column(default=list)

    __table_args__ = (Index("ix_call_logs_business_started", "business_id", "started_at"),)


class WebhookNonce(Base):
    """A webhook signature nonce already accepted, kept a while to refuse replays."""

    __tablename__ = "webhook_nonces"

    nonce: Mapped[str] = mapped_column(String(128), primary_key=True)
    seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)


class CallerPreferences(TimestampMixin, Base):
    """What the bot remembers about a caller of one business."""

    __tablename__ = "caller_preferences"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    business_id: Mapped[str] = mapped_column(String(64))
    caller_hash: Mapped[str] = mapped_column(String(64))
    caller_masked: Mapped[str | None] = mapped_column(String(24))
    name: Mapped[str | None] = mapped_column(String(120))
    preferred_language: Mapped[str | None] = mapped_column(String(8))
    usual_party_size: Mapped[int | None] = mapped_column(Integer)
    call_count: Mapped[int] = mapped_column(Integer, default=0)
    last_call_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("business_id", "caller_hash", name="uq_caller_preferences_caller"),
    )


class WhatsappFollowup(TimestampMixin, Base):
    """A WhatsApp message owed to a guest about a reservation."""

    __tablename__ = "whatsapp_followups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reservation_id: Mapped[int] = mapped_column(
        ForeignKey("reservations.id", ondelete="CASCADE"), index=True
    )
    template: Mapped[str] = mapped_column(String(64))
    parameters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[FollowupStatus] = mapped_column(
        _enum(FollowupStatus), default=FollowupStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_whatsapp_followups_due", "status", "next_attempt_at"),)


class AuditLog(Base):
    """Who changed what, when, with the record before and after."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=func.now())
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(32))
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(64))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    __table_args__ = (Index("ix_audit_log_entity", "entity", "entity_id"),)
