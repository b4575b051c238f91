"""``python -m launcher backup|restore`` round-trips a database exactly (a private one on the test server)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


@pytest.fixture()
def scratch_database(database_url: str) -> Iterator[str]:
    server = make_url(database_url)
    name = f"refinery_backup_{secrets.token_hex(4)}"
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield server.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _platform(command: str, file: Path, url: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url, "REFINERY_DATABASE_URL": url, "REFINERY_DATA_DIR": str(data_dir)}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "launcher"), os.environ.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "launcher", command, str(file)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_backup_then_restore_gives_back_exactly_the_saved_database(scratch_database: str, tmp_path: Path) -> None:
    engine = create_engine(scratch_database)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE kept (id int PRIMARY KEY, note text)"))
        conn.execute(text("INSERT INTO kept VALUES (1, 'before the backup'), (2, 'ünïcode ✓')"))
    dump = tmp_path / "refinery.dump"

    saved = _platform("backup", dump, scratch_database, tmp_path / "data")
    assert saved.returncode == 0, saved.stdout + saved.stderr
    assert dump.stat().st_size > 0

    with engine.begin() as conn:  # changes after the backup must disappear on restore
        conn.execute(text("INSERT INTO kept VALUES (3, 'after the backup')"))
        conn.execute(text("DELETE FROM kept WHERE id = 1"))
        conn.execute(text("CREATE TABLE added_later (x int)"))
    engine.dispose()

    restored = _platform("restore", dump, scratch_database, tmp_path / "data")
    assert restored.returncode == 0, restored.stdout + restored.stderr
    engine = create_engine(scratch_database)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, note FROM kept ORDER BY id")).all()
    assert [tuple(row) for row in rows] == [(1, "before the backup"), (2, "ünïcode ✓")]
    assert "added_later" not in inspect(engine).get_table_names()
    engine.dispose()


def test_restore_of_a_missing_file_fails_and_names_it(scratch_database: str, tmp_path: Path) -> None:
    result = _platform("restore", tmp_path / "nope.dump", scratch_database, tmp_path / "data")
    assert result.returncode == 1
    assert "nope.dump does not exist" in result.stdout
