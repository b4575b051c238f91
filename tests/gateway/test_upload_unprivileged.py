"""The upload loader as a database role without superuser rights (as on a managed Postgres): it cannot switch off
row triggers, so foreign keys are checked row by row — the result must be the same, and a failure still all-or-nothing."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import psycopg2
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from gateway.domain.upload import loader
from shared_model.db import dsn

from .upload_helpers import counts, export, upload_failed, upload_ok


@pytest.fixture()
def unprivileged(monkeypatch: pytest.MonkeyPatch, clean_db: str) -> Iterator[str]:
    """Route the loader's connections through a fresh LOGIN role that owns nothing and is not a superuser."""
    role, password = f"plain_{secrets.token_hex(4)}", secrets.token_hex(12)
    admin = psycopg2.connect(dsn())
    admin.autocommit = True
    database = make_url(clean_db).database
    with admin.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {role} LOGIN NOSUPERUSER PASSWORD %s", (password,))
        cursor.execute(f'GRANT CONNECT, TEMPORARY ON DATABASE "{database}" TO {role}')
        cursor.execute(f"GRANT USAGE, CREATE ON SCHEMA public TO {role}")
        cursor.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}")
        cursor.execute(f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {role}")
    url = make_url(dsn()).set(username=role, password=password).render_as_string(hide_password=False)
    monkeypatch.setattr(loader, "raw_connection", lambda: psycopg2.connect(url))
    try:
        yield role
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f"DROP OWNED BY {role}")
            cursor.execute(f"DROP ROLE {role}")
        admin.close()


def test_upload_without_superuser_rights(client: TestClient, project: dict[str, Any], unprivileged: str) -> None:
    check = psycopg2.connect(loader.raw_connection().dsn)
    with check.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        assert cursor.fetchone() == (False,)
    check.close()
    content = b"headline,__sentiment\nfine day,positive\nawful day,negative\nplain day,\n"
    job = upload_ok(client, project["id"], "days.csv", content)
    assert job["result"]["records"] == 3
    rows = export(client, project["id"])
    assert [(r["headline"], r.get("__sentiment__MANUAL")) for r in rows] == [
        ("fine day", "positive"),
        ("awful day", "negative"),
        ("plain day", None),
    ]
    before = counts(project["id"])
    too_long = "x" * 201  # a label over 200 characters fails the job after the records were inserted
    content = f"headline,__sentiment\nnew day,positive\nlast day,{too_long}\n".encode()
    reason = upload_failed(client, project["id"], "more.csv", content)
    assert "more.csv" in reason and "200" in reason, reason
    assert counts(project["id"]) == before
