"""batch completion webhooks: delivery state on batches, one row per try in webhook_deliveries

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("batch_id", sa.UUID(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["batches.id"],
            name=op.f("fk_webhook_deliveries_batch_id_batches"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
    )
    op.create_index(
        "ix_webhook_deliveries_batch_id", "webhook_deliveries", ["batch_id"], unique=False
    )
    op.add_column("batches", sa.Column("webhook_status", sa.Text(), nullable=True))
    op.add_column(
        "batches", sa.Column("webhook_attempts", sa.Integer(), server_default="0", nullable=False)
    )
    op.add_column(
        "batches", sa.Column("webhook_next_at", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("batches", "webhook_next_at")
    op.drop_column("batches", "webhook_attempts")
    op.drop_column("batches", "webhook_status")
    op.drop_index("ix_webhook_deliveries_batch_id", table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
