"""A service killed in the middle of a statement does not leave its statement (and its locks) running on the server:
the engine asks every backend to check for a lost client (``client_connection_check_interval``)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from sqlalchemy import text

from shared_model.db import CLIENT_CHECK_MS, get_engine

LOCK_KEY = 724_001  # an advisory lock only this test takes

HOLDER = """
import sys
from sqlalchemy import text
from shared_model.db import get_engine
with get_engine().connect() as connection:
    connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": int(sys.argv[1])})
    print("locked", flush=True)
    connection.execute(text("SELECT pg_sleep(120)"))
"""


def _lock_free() -> bool:
    with get_engine().connect() as connection:
        free = bool(connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": LOCK_KEY}).scalar())
        if free:
            connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
        return free


def test_every_connection_checks_for_a_lost_client() -> None:
    with get_engine().connect() as connection:
        setting = "SELECT setting FROM pg_settings WHERE name = 'client_connection_check_interval'"
        assert connection.execute(text(setting)).scalar() == str(CLIENT_CHECK_MS)


def test_a_killed_client_releases_its_locks_while_its_statement_would_still_run(database_url: str) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(LOCK_KEY)],
        env={**os.environ, "DATABASE_URL": database_url},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        time.sleep(0.5)  # inside pg_sleep(120) now
        assert not _lock_free()
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(10)
        killed = time.monotonic()
        while not _lock_free():
            assert time.monotonic() - killed < 15, "the killed client's statement still holds its lock"
            time.sleep(0.2)
    finally:
        if holder.poll() is None:
            holder.kill()


def test_raw_psycopg2_connections_check_too() -> None:
    import psycopg2

    from shared_model.db import dsn

    connection = psycopg2.connect(dsn())
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT setting FROM pg_settings WHERE name = 'client_connection_check_interval'")
            assert cursor.fetchone() == (str(CLIENT_CHECK_MS),)
    finally:
        connection.close()
