"""The schema: migrations match the models, and docs/schema.md documents every column of the
analyst views and runs its example queries."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from worker.domain.db import get_engine
from worker.domain.models import Base

DOC = (Path(__file__).resolve().parents[2] / "docs" / "schema.md").read_text()


def test_migrations_produce_exactly_the_models(db: str) -> None:
    with get_engine().connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []


def _documented(view: str) -> list[str]:
    section = DOC.split(f"## `{view}`")[1].split("\n## ")[0]
    return re.findall(r"^\| `(\w+)` \|", section, flags=re.MULTILINE)


@pytest.mark.parametrize("view", ["job_results", "daily_costs"])
def test_every_column_of_each_view_is_documented_in_order(db: str, view: str) -> None:
    with get_engine().connect() as conn:
        columns = (
            conn.execute(
                text(
                    "SELECT column_name FROM information_schema.columns WHERE table_name = :v "
                    "ORDER BY ordinal_position"
                ),
                {"v": view},
            )
            .scalars()
            .all()
        )

    assert _documented(view) == list(columns)


def test_the_example_queries_run(db: str) -> None:
    queries = re.findall(r"```sql\n(.*?)```", DOC, flags=re.DOTALL)
    assert len(queries) == 3
    with get_engine().connect() as conn:
        for query in queries:
            conn.execute(text(query)).all()
