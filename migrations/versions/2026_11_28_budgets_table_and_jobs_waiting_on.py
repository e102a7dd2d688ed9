"""budgets (limits set at run time), jobs.waiting_on (the budget a job waits for), system_state

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "budgets",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), server_default="", nullable=False),
        sa.Column("period", sa.Text(), nullable=False),
        sa.Column("limit_usd", sa.Numeric(precision=24, scale=12), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_budgets")),
        sa.UniqueConstraint("scope", "key", "period", name=op.f("uq_budgets_scope_key_period")),
    )
    op.add_column("jobs", sa.Column("waiting_on", sa.Text(), nullable=True))
    op.add_column(
        "jobs", sa.Column("budget_need_usd", sa.Numeric(precision=24, scale=12), nullable=True)
    )
    op.create_table(
        "system_state",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_system_state")),
    )


def downgrade() -> None:
    op.drop_table("system_state")
    op.drop_column("jobs", "budget_need_usd")
    op.drop_column("jobs", "waiting_on")
    op.drop_table("budgets")
