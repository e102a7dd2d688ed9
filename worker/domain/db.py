"""Engines and sessions for Postgres, one engine per URL per process."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from worker.domain.errors import ConfigError, ServiceUnavailable
from worker.domain.settings import get_settings

POOL_SIZE = 5  #: connections kept per process
CONNECT_TIMEOUT_S = 10  #: give up connecting to Postgres after this long
POOL_RECYCLE_S = 1800  #: drop connections older than this, survives server-side idle kills


def normalize_url(url: str) -> str:
    """Accept plain postgres URLs and use the psycopg 3 driver for them."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def database_url() -> str:
    url = get_settings().database_url
    if not url:
        raise ConfigError(
            "SLUICE_DATABASE_URL is not set; set it, or run through the sluice CLI, "
            "which starts the embedded default"
        )
    return normalize_url(url)


_engines: dict[str, Engine] = {}


def get_engine() -> Engine:
    url = database_url()
    engine = _engines.get(url)
    if engine is None:
        engine = create_engine(
            url,
            pool_size=POOL_SIZE,
            pool_pre_ping=True,
            pool_recycle=POOL_RECYCLE_S,
            connect_args={"connect_timeout": CONNECT_TIMEOUT_S},
        )
        _engines[url] = engine
    return engine


def dispose_engines() -> None:
    """Forget pooled connections, e.g. in a freshly forked worker process."""
    for engine in _engines.values():
        engine.dispose(close=False)
    _engines.clear()


@contextmanager
def session_scope() -> Iterator[Session]:
    """A session whose transaction commits on success and rolls back on error."""
    factory = sessionmaker(bind=get_engine(), expire_on_commit=False)
    with factory() as session, session.begin():
        yield session


def check_database() -> None:
    """Raise ServiceUnavailable with a readable message when Postgres cannot be reached."""
    try:
        with get_engine().connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as err:
        raise ServiceUnavailable(
            f"cannot connect to Postgres at {safe_url(database_url())}: {_first_line(err)}"
        ) from None


def safe_url(url: str) -> str:
    """The URL without its password, for messages."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _first_line(err: BaseException) -> str:
    orig = getattr(err, "orig", None) or err
    return str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
