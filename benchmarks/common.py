"""What the benchmark scripts share: a throwaway database, test data, service processes, memory sampling.

The scripts run from this folder (``.venv/bin/python benchmarks/<name>.py``), so ``from common import …`` finds it.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psutil
import psycopg2
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_service(
    name: str, env: dict[str, str], log_path: Path, timeout_s: float = 180.0
) -> tuple[subprocess.Popen[bytes], str]:
    """Start ``python -m <name>`` on a free port with ``env`` (complete) and wait until ``/health`` answers 200."""
    port = free_port()
    from shared_model.service import service_secret

    # The services answer only calls with this process's service secret (benchmarks call some of them directly).
    env = {
        "REFINERY_SERVICE_SECRET": service_secret(),
        **env,
        f"REFINERY_{name.upper()}_PORT": str(port),
        "PYTHONUNBUFFERED": "1",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", name], cwd=ROOT, env=env, stdout=log_path.open("wb"), stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout_s
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            process.terminate()
            raise RuntimeError(f"{name} did not become healthy in {timeout_s} s:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.2)


class RssSampler(threading.Thread):
    """Samples a process's resident set size (children included) until stopped; keeps the peak."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.process = psutil.Process(pid)
        self.peak = 0
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.is_set():
            try:
                rss = self.process.memory_info().rss + sum(c.memory_info().rss for c in self.process.children(recursive=True))
            except psutil.Error:
                break
            self.peak = max(self.peak, rss)
            self.halt.wait(0.05)


@contextmanager
def throwaway_database(workdir: Path) -> Iterator[str]:
    """A fresh, migrated database (its SQLAlchemy URL), dropped afterwards.

    It lives on the server of ``DATABASE_URL`` when that is set, else on an embedded PostgreSQL under ``workdir``
    that is stopped afterwards.
    """
    from shared_model.embedded import ensure_embedded_postgres, stop_embedded_postgres
    from shared_model.migrate import upgrade

    configured = os.environ.get("DATABASE_URL") or os.environ.get("REFINERY_DATABASE_URL")
    server = make_url(configured or ensure_embedded_postgres(workdir / "postgres"))
    if server.drivername in ("postgresql", "postgres"):
        server = server.set(drivername="postgresql+psycopg2")
    name = f"refinery_bench_{secrets.token_hex(4)}"
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = server.set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        yield url
    finally:
        from shared_model.db import get_engine

        if os.environ.get("DATABASE_URL") == url:  # the benchmark pointed shared_model at it: let go first
            get_engine().dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        if not configured:
            stop_embedded_postgres(workdir / "postgres")


def libpq_dsn(url: str) -> str:
    """The psycopg2 connection string of a SQLAlchemy URL."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def load_text_project(dsn: str, attribute: str, texts: list[str]) -> tuple[uuid.UUID, uuid.UUID]:
    """A project with one TEXT attribute and a record per text, written straight to the database (setup, not timed)."""
    project_id, attribute_id = uuid.uuid4(), uuid.uuid4()
    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor() as cursor:
            cursor.execute(
                "INSERT INTO project (id, name, description, tokenizer, status, settings, created_at, updated_at)"
                " VALUES (%s, %s, '', 'en', 'READY', '{}', now(), now())",
                (str(project_id), f"benchmark {project_id.hex[:6]}"),
            )
            cursor.execute(
                "INSERT INTO attribute (id, project_id, name, data_type, is_primary_key, relative_position, user_created, state,"
                " visibility, created_at) VALUES (%s, %s, %s, 'TEXT', false, 0, false, 'UPLOADED', 'DO_NOT_HIDE', now())",
                (str(attribute_id), str(project_id), attribute),
            )
            # COPY text format: backslashes escaped
            payload = "".join(json.dumps({attribute: t}).replace("\\", "\\\\") + "\n" for t in texts)
            cursor.execute("CREATE TEMP TABLE bench_stage (data jsonb)")
            cursor.copy_expert("COPY bench_stage (data) FROM STDIN", io.BytesIO(payload.encode("utf-8")))
            cursor.execute(
                "INSERT INTO record (project_id, data, created_at) SELECT %s, data, now() FROM bench_stage", (str(project_id),)
            )
        conn.commit()
    finally:
        conn.close()
    return project_id, attribute_id
