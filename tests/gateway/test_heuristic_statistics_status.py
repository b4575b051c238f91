"""Heuristic statistics list every heuristic of the task: with hits, with none, never run, last run failed, running."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shared_model.jobs import wait_for_job

from ..executor.factory import Data, add_lookup_list, add_records, add_task
from .test_heuristics import KEYWORD_LF, TEXTS, base, create, full_run


@pytest.fixture()
def data(client: TestClient, project: dict[str, Any], services: Any) -> Data:
    services.start("executor")
    services.start("weak_supervisor")
    data = add_records(uuid.UUID(project["id"]), TEXTS)
    add_task(data, "spam", ["spam", "ham"])
    add_lookup_list(data.project_id, "Spam Words!", "spam_words", ["channel", "subscribe"], blacklisted=["song"])
    return data


def statistics(client: TestClient, data: Data) -> list[dict[str, Any]]:
    path = f"/api/v1/projects/{data.project_id}/labeling-tasks/{data.tasks['spam']}/heuristic-statistics"
    job = client.post(path)
    assert job.status_code == 202, job.text
    assert wait_for_job(uuid.UUID(job.json()["id"]), timeout_s=60).state == "done"
    response = client.get(path)
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()
    return rows


def test_every_heuristic_is_listed_with_its_status(client: TestClient, data: Data) -> None:
    hits = create(client, data, "keywords", KEYWORD_LF)
    silent = create(client, data, "silent", "def lf(record):\n    return None\n")
    create(client, data, "never_run", KEYWORD_LF)
    failing = create(client, data, "failing", KEYWORD_LF)
    for heuristic in (hits, silent, failing):
        assert full_run(client, data, heuristic["id"])["state"] == "FINISHED"
    client.patch(f"{base(data)}/{failing['id']}", json={"source_code": "def lf(record):\n    return 'eggs'\n"})
    assert full_run(client, data, failing["id"])["state"] == "FAILED"

    rows = statistics(client, data)
    by_name: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_name.setdefault(row["heuristic_name"], []).append(row)
    assert set(by_name) == {"keywords", "silent", "never_run", "failing"}

    (spam,) = by_name["keywords"]  # the keyword function only ever says "spam"
    assert spam["status"] == "ok" and spam["label_name"] == "spam" and spam["total_hits"] == 2
    assert spam["last_run_state"] == "FINISHED" and spam["last_run_finished_at"] is not None

    (row,) = by_name["silent"]
    assert row["status"] == "no_hits" and row["label_id"] is None and row["total_hits"] == 0
    assert row["last_run_state"] == "FINISHED" and row["est_precision"] is None

    (row,) = by_name["never_run"]
    assert row["status"] == "never_run" and row["last_run_state"] is None and row["label_id"] is None

    (row,) = by_name["failing"]  # its figures are of the earlier, successful run's results, and it says so
    assert row["status"] == "last_run_failed" and row["last_run_state"] == "FAILED"
    assert "unknown label 'eggs'" in row["last_run_error"] and row["total_hits"] == 2
