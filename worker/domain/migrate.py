"""Run Alembic migrations programmatically (``sluice migrate``), from the packaged scripts."""

from __future__ import annotations

from importlib import resources

from alembic import command
from alembic.config import Config

from worker.domain.db import check_database, get_engine

MIGRATION_LOCK_ID = 7_231_001  #: advisory lock so two `sluice migrate` runs never race


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(resources.files("migrations")))
    config.set_main_option("file_template", "%%(year)d_%%(month).2d_%%(day).2d_%%(slug)s")
    return config


def upgrade_head() -> None:
    """Bring the schema to the newest revision; safe to run concurrently and repeatedly."""
    check_database()
    config = alembic_config()
    with get_engine().begin() as conn:
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_ID})")
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


def current_revision() -> str | None:
    from alembic.runtime.migration import MigrationContext

    with get_engine().connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
