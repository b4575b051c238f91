"""Test fixtures shared by every test: a private Postgres database per test run, migrated once.

The server is ``DATABASE_URL`` when set (``./test`` starts a throwaway embedded Postgres and sets it); otherwise a
private embedded Postgres is started under a temporary folder. Each pytest run creates its own database on that
server, so concurrent runs never see each other's rows, and drops it at the end.
"""

from __future__ import annotations

import os
import secrets
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

if TYPE_CHECKING:
    from .service_processes import ServicePool

ADMIN_PASSWORD = "admin-test-password"
os.environ.setdefault("REFINERY_ADMIN_PASSWORD", ADMIN_PASSWORD)
os.environ.setdefault("REFINERY_ENVIRONMENT", "test")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# One service secret for the run: in-process gateways and the service processes share it (nothing written to ./data).
os.environ.setdefault("REFINERY_SERVICE_SECRET", secrets.token_urlsafe(32))


def _server_url() -> str:
    url = os.environ.get("DATABASE_URL") or os.environ.get("REFINERY_DATABASE_URL")
    if url:
        return url
    from shared_model.embedded import ensure_embedded_postgres

    folder = Path(tempfile.gettempdir()) / "refinery-test-postgres"
    return ensure_embedded_postgres(folder)


def _create_database() -> tuple[str, str]:
    server = make_url(_server_url())
    if server.drivername in ("postgresql", "postgres"):
        server = server.set(drivername="postgresql+psycopg2")
    name = f"refinery_test_{secrets.token_hex(4)}"
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return server.set(database=name).render_as_string(hide_password=False), server.render_as_string(hide_password=False)


_TEST_URL, _SERVER_URL = _create_database()
os.environ["DATABASE_URL"] = _TEST_URL
os.environ["REFINERY_DATABASE_URL"] = _TEST_URL

from shared_model.settings import get_settings  # noqa: E402

get_settings.cache_clear()


@pytest.fixture(scope="session", autouse=True)
def database_url() -> Iterator[str]:
    """The migrated private test database (dropped after the run)."""
    from shared_model.migrate import upgrade

    upgrade(_TEST_URL)
    yield _TEST_URL
    from shared_model.db import get_engine

    get_engine().dispose()
    admin = create_engine(make_url(_SERVER_URL).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(_TEST_URL).database}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture()
def clean_db(database_url: str) -> str:
    """Empty every table (the schema stays) before a test that needs a blank database."""
    from shared_model.db import get_engine
    from shared_model.models import Base

    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    # Service processes of earlier tests may still be finishing a job on these tables: a deadlock or lock timeout
    # with them is retried rather than failing the test that merely wants empty tables.
    for attempt in range(10):
        try:
            with get_engine().begin() as conn:
                conn.execute(text("SET LOCAL lock_timeout = '5s'"))
                conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            break
        except OperationalError:
            if attempt == 9:
                raise
            time.sleep(0.5)
    return database_url


@pytest.fixture(scope="session")
def services(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServicePool]:
    """Real service processes, started on first use (``services.start("executor")``) and stopped after the run.

    Starting one also sets ``REFINERY_<NAME>_URL`` so an in-process gateway calls it over HTTP.
    """
    from .service_processes import ServicePool

    pool = ServicePool(tmp_path_factory.mktemp("service-logs"))
    yield pool
    pool.stop_all()
