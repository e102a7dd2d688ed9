"""jobs.result_token and attempts.lease_token: which calls belong to the recorded result

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("attempts", sa.Column("lease_token", sa.UUID(), nullable=True))
    op.add_column("jobs", sa.Column("result_token", sa.UUID(), nullable=True))


def downgrade() -> None:
    op.drop_column("jobs", "result_token")
    op.drop_column("attempts", "lease_token")
