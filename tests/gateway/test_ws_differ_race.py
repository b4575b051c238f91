"""'Manual and weak supervision differ' with a manual label written across a weak-supervision switch (issue #17): the
browser never reads a ``differ`` flag computed against another version than the current one. A writer whose snapshot
predates the switch stores a flag against the previous version after the reader's one-time recomputation; the next
reader finds that row (an index probe of ``ws_version``) and recomputes it. A writer still open across the switch
holds the task's read-model lock, so the reader waits for it and then recomputes its row (real Postgres, real
concurrent transactions, through HTTP)."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fastapi.testclient import TestClient

from shared_model import weak_supervision_results as weak_results
from shared_model.db import raw_connection, session_scope

from .test_labeling import API, classify, make_task, seed_records
from .test_ws_versions_readers import _switch, _write


def _differ(client: TestClient, pid: str, task: dict[str, Any]) -> list[int]:
    body = {"filter": {"conditions": [{"kind": "manual_ws_differ", "task_id": task["id"]}]}, "limit": 50, "count": "exact"}
    r = client.post(f"{API}/{pid}/records/search", json=body)
    assert r.status_code == 200, r.text
    ids = [item["id"] for item in r.json()["items"]]
    assert r.json()["total"] == len(ids)
    return sorted(ids)


def _manual_label_sql(cursor: Any, pid: str, task: dict[str, Any], record_id: int, label: str) -> None:
    """A manual label as a writer inserts it (the read model's statement trigger refreshes the pair)."""
    cursor.execute(
        "INSERT INTO record_label_association (id, project_id, record_id, labeling_task_id, label_id, source_type,"
        " return_type, confidence, created_by, is_gold_star, is_valid_manual_label, created_at)"
        " VALUES (%s, %s, %s, %s, %s, 'MANUAL', 'RETURN', 1.0, NULL, false, true, now())",
        (str(uuid.uuid4()), pid, record_id, task["id"], task["by_name"][label]),
    )


def _row(record_id: int, task: dict[str, Any]) -> tuple[bool, uuid.UUID | None]:
    with session_scope() as session:
        from sqlalchemy import text

        differ, version = session.execute(
            text("SELECT differ, ws_version FROM record_task_label WHERE record_id = :r AND labeling_task_id = :t"),
            {"r": record_id, "t": task["id"]},
        ).one()
        return bool(differ), version


def test_a_manual_label_written_across_a_switch_is_read_against_the_current_version(
    client: TestClient, project: dict[str, Any]
) -> None:
    pid = project["id"]
    ids = seed_records(pid, ["one", "two", "three"])
    task = make_task(client, pid, "sentiment", "MULTICLASS_CLASSIFICATION", None, ["a", "b"])
    by = task["by_name"]
    v1 = _write(task["id"], {ids[0]: ("a", 0.9), ids[1]: ("a", 0.9), ids[2]: ("a", 0.9)}, by)
    _switch(task["id"], v1)
    assert classify(client, pid, ids[0], task, ["a"]).status_code == 200
    assert _differ(client, pid, task) == []  # the flags are those against v1 now

    # a writer whose snapshot predates the switch to v2 (REPEATABLE READ): its refresh reads v1 as current
    v2 = _write(task["id"], {ids[0]: ("b", 0.8), ids[1]: ("b", 0.8), ids[2]: ("a", 0.8)}, by)
    writer = raw_connection()
    try:
        cursor = writer.cursor()
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        cursor.execute("SELECT count(*) FROM weak_supervision_current")  # its snapshot: v1 current
        _switch(task["id"], v2)
        assert _differ(client, pid, task) == [ids[0]]  # the one-time recomputation for v2
        _manual_label_sql(cursor, pid, task, ids[1], "a")
        writer.commit()
    finally:
        writer.close()
    assert _row(ids[1], task) == (False, v1)  # stored against the previous version: a against a
    # the reader recomputes that row against v2 (a against b: they differ) instead of leaving it out
    assert _differ(client, pid, task) == [ids[0], ids[1]]
    assert _row(ids[1], task) == (True, v2)

    # a READ COMMITTED writer still open across the switch to v3: the reader waits for it, then recomputes its row
    v3 = _write(task["id"], {ids[0]: ("b", 0.7), ids[1]: ("b", 0.7), ids[2]: ("b", 0.7)}, by)
    writer = raw_connection()
    try:
        cursor = writer.cursor()
        _manual_label_sql(cursor, pid, task, ids[2], "a")  # refreshed against v2 (a against a), lock held
        with session_scope() as session:
            weak_results.switch_version(session, uuid.UUID(task["id"]), v3)
        started = threading.Event()

        def read() -> list[int]:
            started.set()
            return _differ(client, pid, task)

        with ThreadPoolExecutor(1) as pool:
            reading = pool.submit(read)
            started.wait(10)
            try:
                reading.result(timeout=1.5)
                raise AssertionError("the reader did not wait for the writer's read-model lock")
            except TimeoutError:
                pass
            writer.commit()
            assert reading.result(timeout=30) == [ids[0], ids[1], ids[2]]
    finally:
        writer.close()
    assert _row(ids[2], task) == (True, v3)
