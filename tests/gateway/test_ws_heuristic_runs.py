"""Weak supervision uses only heuristics whose latest run finished, and its summary says which results it used, from
when, and why it skipped the others (real executor and weak_supervisor processes)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient

from shared_model.jobs import wait_for_job

from ..executor.factory import add_records, add_task
from ..weak_supervisor.fixtures import weak_labels

TEXTS = ["spam offer", "hello friend", "spam spam", "see you", "buy now", "nice song"]
SPAM = 'def lf(record):\n    if "spam" in record["text"].text:\n        return "spam"\n'
HAM = 'def lf(record):\n    if "o" in record["text"].text:\n        return "ham"\n'
BROKEN = (
    'def lf(record):\n    if "buy" in record["text"].text:\n        raise ValueError("broken on purpose")\n    return "ham"\n'
)


def test_a_heuristic_whose_latest_run_failed_is_not_used(client: TestClient, project: dict[str, Any], services: Any) -> None:
    services.start("executor")
    services.start("weak_supervisor")
    data = add_records(uuid.UUID(project["id"]), TEXTS)
    task_id = add_task(data, "spam", ["spam", "ham"])
    base = f"/api/v1/projects/{project['id']}"

    def create(name: str, code: str) -> str:
        response = client.post(f"{base}/heuristics", json={"labeling_task_id": str(task_id), "name": name, "source_code": code})
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def run(heuristic_id: str) -> dict[str, Any]:
        response = client.post(f"{base}/heuristics/{heuristic_id}/runs")
        assert response.status_code == 202, response.text
        wait_for_job(uuid.UUID(response.json()["job"]["id"]), timeout_s=120)
        body: dict[str, Any] = client.get(f"{base}/heuristics/{heuristic_id}/runs/{response.json()['runs'][0]['id']}").json()
        return body

    def weak_supervision(**options: Any) -> dict[str, Any]:
        response = client.post(
            f"{base}/weak-supervision", json={"labeling_task_id": str(task_id), "model": "majority", **options}
        )
        assert response.status_code == 202, response.text
        job = wait_for_job(uuid.UUID(response.json()["job"]["id"]), timeout_s=60)
        assert job.state == "done", job.error
        body: dict[str, Any] = client.get(f"{base}/weak-supervision/runs/{response.json()['run_id']}").json()
        return body

    spam, ham = create("spam", SPAM), create("ham", HAM)
    assert run(spam)["state"] == "FINISHED"
    first = run(ham)
    assert first["state"] == "FINISHED"
    both = weak_supervision()
    considered = {c["name"]: c for c in both["summary"]["heuristics_considered"]}
    assert considered["ham"]["used"] and considered["ham"]["run_id"] == first["id"]
    assert considered["ham"]["results_from"] == first["finished_at"].replace("Z", "+00:00")
    hams_before = [r for r in weak_labels(task_id) if r[1] == data.labels["spam"]["ham"]]
    assert hams_before  # the ham heuristic's labels took part

    assert client.patch(f"{base}/heuristics/{ham}", json={"source_code": BROKEN}).status_code == 200
    second = run(ham)
    assert second["state"] == "FAILED" and "broken on purpose" in second["error"]

    without = weak_supervision()
    considered = {c["name"]: c for c in without["summary"]["heuristics_considered"]}
    assert considered["spam"]["used"] and considered["spam"]["reason"] == "its latest run finished"
    skipped = considered["ham"]
    assert not skipped["used"] and "is FAILED" in skipped["reason"] and "broken on purpose" in skipped["reason"]
    assert skipped["stored_run_id"] == first["id"] and "run_id" not in skipped
    assert without["summary"]["heuristics"] == [spam]
    assert {r[1] for r in weak_labels(task_id)} == {data.labels["spam"]["spam"]}  # no label from the old ham results

    older = weak_supervision(use_older_results=True)
    used = {c["name"]: c for c in older["summary"]["heuristics_considered"]}["ham"]
    assert used["used"] and used["run_id"] == first["id"] and "use_older_results" in used["reason"]
    assert sorted(older["summary"]["heuristics"]) == sorted([spam, ham])

    assert client.patch(f"{base}/heuristics/{spam}", json={"source_code": BROKEN}).status_code == 200
    assert run(spam)["state"] == "FAILED"
    response = client.post(f"{base}/weak-supervision", json={"labeling_task_id": str(task_id)})
    job = wait_for_job(uuid.UUID(response.json()["job"]["id"]), timeout_s=60)
    assert job.state == "failed" and job.error is not None and "none of the heuristics can be used" in job.error
    assert "spam: its latest run" in job.error and "ham: its latest run" in job.error
