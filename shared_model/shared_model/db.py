"""Engine and session factories; one engine per process and database URL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from .settings import get_settings


def database_url() -> str:
    """The configured database URL, or the embedded Postgres under ``data_dir`` (started if needed)."""
    settings = get_settings()
    if settings.database_url:
        return settings.database_url
    from .embedded import ensure_embedded_postgres

    return ensure_embedded_postgres(settings.data_dir / "postgres")


# A backend whose client is gone (a service killed mid-statement) checks for it this often and ends, rolling back and
# releasing its locks; without it Postgres notices only when the statement finishes, so a killed writer's orphaned
# statement kept its locks (and the next run waiting on them) for as long as the statement ran.
CLIENT_CHECK_MS = 1000


@lru_cache
def _engine_for(url: str) -> Engine:
    connect_args: dict[str, Any] = {}
    if "options=" not in url:  # a URL with options of its own keeps them as they are
        connect_args["options"] = f"--client_connection_check_interval={CLIENT_CHECK_MS}"
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, future=True, connect_args=connect_args)


def get_engine() -> Engine:
    """The process's engine for the configured database."""
    return _engine_for(database_url())


@lru_cache
def _sessionmaker_for(url: str) -> sessionmaker[Session]:
    return sessionmaker(bind=_engine_for(url), expire_on_commit=False)


def new_session() -> Session:
    """A new ORM session; the caller closes it."""
    return _sessionmaker_for(database_url())()


@contextmanager
def session_scope() -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    session = new_session()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def session_dependency() -> Iterator[Session]:
    """The FastAPI dependency form of :func:`session_scope`: one session per request, committed when the handler
    succeeds, rolled back when it raises (declare it with ``Depends(session_dependency, scope="function")``)."""
    with session_scope() as session:
        yield session


def raw_connection() -> Any:
    """A DBAPI (psycopg2) connection from the pool, for COPY and LISTEN; close it to give it back."""
    return get_engine().raw_connection()


def dsn() -> str:
    """The libpq connection string of the database (for psycopg2.connect)."""
    url = get_engine().url.set(drivername="postgresql")
    if "options" not in url.query:  # as the engine's connections: a killed client's statement ends (CLIENT_CHECK_MS)
        url = url.update_query_dict({"options": f"--client_connection_check_interval={CLIENT_CHECK_MS}"})
    return url.render_as_string(hide_password=False)


def database_reachable() -> bool:
    """Whether ``SELECT 1`` succeeds within the pool's timeout."""
    try:
        with get_engine().connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception:  # noqa: BLE001 - health reporting must never raise
        return False
