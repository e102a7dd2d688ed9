"""What every CLI command needs before it touches data: services up, schema current, config."""

from __future__ import annotations

from sqlalchemy import inspect

from api.embedded import Services, ensure_services
from worker.domain.config import AppConfig, load_config
from worker.domain.db import check_database, get_engine
from worker.domain.errors import ServiceUnavailable
from worker.domain.migrate import upgrade_head


def prepare(*, migrate_embedded: bool = True) -> tuple[Services, AppConfig]:
    """Load the config, reach Postgres (starting the embedded default if unset) and make sure
    the schema exists: created automatically when embedded, else `sluice migrate` is asked for."""
    config = load_config()
    services = ensure_services()
    check_database()
    if services.embedded and migrate_embedded:
        upgrade_head()
    elif not inspect(get_engine()).has_table("jobs"):
        raise ServiceUnavailable("the database has no Sluice schema yet: run `sluice migrate`")
    return services, config
