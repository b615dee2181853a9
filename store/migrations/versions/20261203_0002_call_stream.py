"""Call stream: the caller's number and stream token state on call logs; webhook nonces.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03 17:56:36.098274
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "webhook_nonces",
        sa.Column("nonce", sa.String(length=128), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("nonce"),
    )
    with op.batch_alter_table("webhook_nonces", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_webhook_nonces_seen_at"), ["seen_at"], unique=False)

    # Nullable columns only: SQLite adds them in place, without copying the table.
    with op.batch_alter_table("call_logs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("caller_number", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("to_number", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("stream_nonce", sa.String(length=32), nullable=True))
        batch_op.add_column(
            sa.Column("stream_opened_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("call_logs", schema=None) as batch_op:
        batch_op.drop_column("stream_opened_at")
        batch_op.drop_column("stream_nonce")
        batch_op.drop_column("to_number")
        batch_op.drop_column("caller_number")

    with op.batch_alter_table("webhook_nonces", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_nonces_seen_at"))

    op.drop_table("webhook_nonces")
