"""initial schema: batches, jobs, attempts and the analyst views job_results, daily_costs

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


JOB_RESULTS_VIEW = """
CREATE VIEW job_results AS
SELECT j.id AS job_id,
       j.batch_id,
       b.name AS batch_name,
       b.tenant,
       b.task,
       j.item_id,
       j.state AS status,
       j.label,
       j.output,
       j.model,
       j.provider,
       j.input_tokens,
       j.output_tokens,
       j.cached_input_tokens,
       j.cost_usd,
       j.cache_hit AS cached,
       j.attempt_count AS attempts,
       j.error_code,
       j.error_message,
       j.created_at,
       j.started_at,
       j.finished_at,
       (EXTRACT(EPOCH FROM (j.finished_at - j.started_at)) * 1000)::bigint AS duration_ms,
       j.metadata
FROM jobs j
JOIN batches b ON b.id = j.batch_id
"""

DAILY_COSTS_VIEW = """
CREATE VIEW daily_costs AS
SELECT (a.started_at AT TIME ZONE 'UTC')::date AS day,
       a.provider,
       a.model,
       b.task,
       b.tenant,
       count(DISTINCT a.job_id) AS jobs,
       count(*) AS calls,
       count(*) FILTER (WHERE a.error_type IS NOT NULL) AS failed_calls,
       sum(a.input_tokens)::bigint AS input_tokens,
       sum(a.output_tokens)::bigint AS output_tokens,
       sum(a.cached_input_tokens)::bigint AS cached_input_tokens,
       sum(a.cost_usd) AS cost_usd
FROM attempts a
JOIN batches b ON b.id = a.batch_id
GROUP BY 1, 2, 3, 4, 5
"""


def upgrade() -> None:
    op.create_table(
        "batches",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("task", sa.Text(), nullable=False),
        sa.Column("tenant", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), server_default="pending", nullable=False),
        sa.Column(
            "params", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column("item_count", sa.Integer(), nullable=False),
        sa.Column("budget_usd", sa.Numeric(precision=24, scale=12), nullable=True),
        sa.Column("callback_url", sa.Text(), nullable=True),
        sa.Column("idempotency_key", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("canceled_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batches")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_batches_idempotency_key")),
    )
    op.create_index("ix_batches_created_at", "batches", ["created_at"], unique=False)
    op.create_table(
        "jobs",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("batch_id", sa.UUID(), nullable=False),
        sa.Column("item_id", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), server_default="pending", nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("metadata", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("provider", sa.Text(), nullable=True),
        sa.Column("model", sa.Text(), nullable=True),
        sa.Column("label", sa.Text(), nullable=True),
        sa.Column("output", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("error_code", sa.Text(), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("input_tokens", sa.Integer(), server_default="0", nullable=False),
        sa.Column("output_tokens", sa.Integer(), server_default="0", nullable=False),
        sa.Column("cached_input_tokens", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "cost_usd", sa.Numeric(precision=24, scale=12), server_default="0", nullable=False
        ),
        sa.Column("cache_hit", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("attempt_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("lease_token", sa.UUID(), nullable=True),
        sa.Column("leased_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batches.id"], name=op.f("fk_jobs_batch_id_batches"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
        sa.UniqueConstraint("batch_id", "item_id", name=op.f("uq_jobs_batch_id_item_id")),
    )
    op.create_index(
        "ix_jobs_active_state",
        "jobs",
        ["state", "leased_until"],
        unique=False,
        postgresql_where=sa.text("state IN ('pending','queued','running','waiting_budget')"),
    )
    op.create_index("ix_jobs_batch_id_state", "jobs", ["batch_id", "state"], unique=False)
    op.create_table(
        "attempts",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("job_id", sa.BigInteger(), nullable=False),
        sa.Column("batch_id", sa.UUID(), nullable=False),
        sa.Column("provider", sa.Text(), nullable=False),
        sa.Column("model", sa.Text(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error_type", sa.Text(), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("input_tokens", sa.Integer(), server_default="0", nullable=False),
        sa.Column("output_tokens", sa.Integer(), server_default="0", nullable=False),
        sa.Column("cached_input_tokens", sa.Integer(), server_default="0", nullable=False),
        sa.Column("cache_write_tokens", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "cost_usd", sa.Numeric(precision=24, scale=12), server_default="0", nullable=False
        ),
        sa.Column("latency_ms", sa.Integer(), nullable=True),
        sa.Column("provider_request_id", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_attempts_job_id_jobs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attempts")),
    )
    op.create_index("ix_attempts_batch_id", "attempts", ["batch_id"], unique=False)
    op.create_index("ix_attempts_job_id", "attempts", ["job_id"], unique=False)
    op.create_index("ix_attempts_started_at", "attempts", ["started_at"], unique=False)
    op.execute(JOB_RESULTS_VIEW)
    op.execute(DAILY_COSTS_VIEW)


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS daily_costs")
    op.execute("DROP VIEW IF EXISTS job_results")
    op.drop_index("ix_attempts_started_at", table_name="attempts")
    op.drop_index("ix_attempts_job_id", table_name="attempts")
    op.drop_index("ix_attempts_batch_id", table_name="attempts")
    op.drop_table("attempts")
    op.drop_index("ix_jobs_batch_id_state", table_name="jobs")
    op.drop_index(
        "ix_jobs_active_state",
        table_name="jobs",
        postgresql_where=sa.text("state IN ('pending','queued','running','waiting_budget')"),
    )
    op.drop_table("jobs")
    op.drop_index("ix_batches_created_at", table_name="batches")
    op.drop_table("batches")
