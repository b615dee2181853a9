"""Initial schema: reservations, call logs, caller preferences, follow-ups, audit log.

Revision ID: 0001
Revises:
Create Date: 2026-12-03 17:30:38.262024
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("entity", sa.String(length=32), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index("ix_audit_log_entity", ["entity", "entity_id"], unique=False)

    op.create_table(
        "call_logs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_uuid", sa.String(length=64), nullable=False),
        sa.Column("business_id", sa.String(length=64), nullable=True),
        sa.Column("caller_masked", sa.String(length=24), nullable=True),
        sa.Column("caller_hash", sa.String(length=64), nullable=True),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration_secs", sa.Integer(), nullable=True),
        sa.Column("hangup_cause", sa.String(length=64), nullable=True),
        sa.Column(
            "outcome",
            sa.Enum(
                "in_progress",
                "booked",
                "cancelled",
                "enquiry",
                "transferred",
                "abandoned",
                "failed",
                "rejected",
                name="calloutcome",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("transcript", sa.JSON(), nullable=False),
        sa.Column("tool_calls", sa.JSON(), nullable=False),
        sa.Column("turn_latencies", sa.JSON(), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("call_uuid"),
    )
    with op.batch_alter_table("call_logs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_call_logs_business_started", ["business_id", "started_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_call_logs_caller_hash"), ["caller_hash"], unique=False)

    op.create_table(
        "caller_preferences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("business_id", sa.String(length=64), nullable=False),
        sa.Column("caller_hash", sa.String(length=64), nullable=False),
        sa.Column("caller_masked", sa.String(length=24), nullable=True),
        sa.Column("name", sa.String(length=120), nullable=True),
        sa.Column("preferred_language", sa.String(length=8), nullable=True),
        sa.Column("usual_party_size", sa.Integer(), nullable=True),
        sa.Column("call_count", sa.Integer(), nullable=False),
        sa.Column("last_call_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("business_id", "caller_hash", name="uq_caller_preferences_caller"),
    )
    op.create_table(
        "reservations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=12), nullable=False),
        sa.Column("business_id", sa.String(length=64), nullable=False),
        sa.Column("customer_name", sa.String(length=120), nullable=False),
        sa.Column("customer_phone", sa.String(length=20), nullable=True),
        sa.Column("party_size", sa.Integer(), nullable=False),
        sa.Column("starts_at", sa.DateTime(), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "confirmed",
                "cancelled",
                "completed",
                "no_show",
                name="reservationstatus",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column(
            "source",
            sa.Enum(
                "phone",
                "admin",
                name="reservationsource",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("call_id", sa.String(length=64), nullable=True),
        sa.Column("cancelled_by", sa.String(length=120), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("business_id", "code", name="uq_reservations_business_code"),
    )
    with op.batch_alter_table("reservations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_reservations_business_start", ["business_id", "starts_at"], unique=False
        )
        batch_op.create_index(
            "ix_reservations_holding",
            ["business_id", "starts_at", "duration_minutes", "party_size", "status"],
            unique=False,
            sqlite_where=sa.text("status = 'confirmed'"),
            postgresql_where=sa.text("status = 'confirmed'"),
        )
        batch_op.create_index("ix_reservations_phone", ["customer_phone"], unique=False)
        batch_op.create_index("ix_reservations_start", ["starts_at"], unique=False)

    op.create_table(
        "whatsapp_followups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reservation_id", sa.Integer(), nullable=False),
        sa.Column("template", sa.String(length=64), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "sent",
                "failed",
                "cancelled",
                name="followupstatus",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["reservation_id"], ["reservations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("whatsapp_followups", schema=None) as batch_op:
        batch_op.create_index(
            "ix_whatsapp_followups_due", ["status", "next_attempt_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_whatsapp_followups_reservation_id"), ["reservation_id"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("whatsapp_followups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_whatsapp_followups_reservation_id"))
        batch_op.drop_index("ix_whatsapp_followups_due")

    op.drop_table("whatsapp_followups")
    with op.batch_alter_table("reservations", schema=None) as batch_op:
        batch_op.drop_index("ix_reservations_start")
        batch_op.drop_index("ix_reservations_phone")
        batch_op.drop_index(
            "ix_reservations_holding",
            sqlite_where=sa.text("status = 'confirmed'"),
            postgresql_where=sa.text("status = 'confirmed'"),
        )
        batch_op.drop_index("ix_reservations_business_start")

    op.drop_table("reservations")
    op.drop_table("caller_preferences")
    with op.batch_alter_table("call_logs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_call_logs_caller_hash"))
        batch_op.drop_index("ix_call_logs_business_started")

    op.drop_table("call_logs")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_log_entity")

    op.drop_table("audit_log")
