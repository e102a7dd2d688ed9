"""Process settings from the environment (and a ``.env`` file): where the services are.

Everything an operator tunes about providers, models, tasks and budgets lives in the YAML
config (``config.py``); this module only says where to find Postgres, Redis and that file.
"""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """``SLUICE_*`` environment variables."""

    model_config = SettingsConfigDict(
        env_prefix="SLUICE_", env_file=".env", extra="ignore", env_ignore_empty=True
    )

    #: SQLAlchemy URL, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test; unset = embedded
    database_url: str | None = None
    #: Redis URL for the Celery broker and counters; unset = embedded
    redis_url: str | None = None
    #: path of the YAML config; unset = the built-in default
    config: Path | None = None
    #: where the embedded Postgres and Redis keep their data
    home: Path = Path(".sluice")
    #: logging level of workers and the API
    log_level: str = "INFO"
    #: signs batch-completion webhooks (HMAC-SHA256); needed to submit with a callback_url
    webhook_secret: str | None = None
    #: where clients reach the HTTP API; webhooks link to results under it
    public_url: str = "http://127.0.0.1:8000"


def get_settings() -> Settings:
    """Read the environment now (tests and the embedded launcher change it at run time)."""
    return Settings()
