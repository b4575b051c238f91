"""The upload keeps every trigger on (it used to set ``session_replication_role = replica``, which switches off the
foreign-key checks and the label-association triggers of the whole transaction)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from shared_model.db import get_engine

from .upload_helpers import upload_ok

WATCH = """
CREATE TABLE upload_trigger_log (relation text, rows bigint);
CREATE FUNCTION upload_trigger_log() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO upload_trigger_log SELECT TG_TABLE_NAME, count(*) FROM new_rows;
    RETURN NULL;
END $$;
CREATE TRIGGER upload_trigger_log_record AFTER INSERT ON record REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION upload_trigger_log();
CREATE TRIGGER upload_trigger_log_rla AFTER INSERT ON record_label_association REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION upload_trigger_log();
"""
UNWATCH = """
DROP TRIGGER IF EXISTS upload_trigger_log_record ON record;
DROP TRIGGER IF EXISTS upload_trigger_log_rla ON record_label_association;
DROP FUNCTION IF EXISTS upload_trigger_log();
DROP TABLE IF EXISTS upload_trigger_log;
"""


@pytest.fixture()
def trigger_log() -> Iterator[None]:
    with get_engine().begin() as conn:
        conn.execute(text(WATCH))
    try:
        yield
    finally:
        with get_engine().begin() as conn:
            conn.execute(text(UNWATCH))


def test_triggers_fire_during_an_upload(client: TestClient, project: dict[str, Any], trigger_log: None) -> None:
    content = "text,text__sentiment\n" + "".join(f"text {i},{'pos' if i % 2 else 'neg'}\n" for i in range(300))
    upload_ok(client, project["id"], "data.csv", content.encode())
    with get_engine().connect() as conn:
        fired = dict(conn.execute(text("SELECT relation, sum(rows) FROM upload_trigger_log GROUP BY relation")).all())
    assert fired == {"record": 300, "record_label_association": 300}
    with get_engine().connect() as conn:
        role = conn.execute(text("SHOW session_replication_role")).scalar_one()
    assert role == "origin"
