"""Weak supervision through the gateway and a real weak_supervisor process (HTTP + the job queue, real Postgres)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient

from shared_model.jobs import wait_for_job
from shared_model.models import TaskType
from shared_model.service import service_headers

from ..weak_supervisor.fixtures import build_task, weak_labels


def test_run_statistics_and_errors(client: TestClient, project: dict[str, Any], services: Any) -> None:
    services.start("weak_supervisor")
    pid = project["id"]
    built = build_task(
        TaskType.MULTICLASS_CLASSIFICATION,
        ["neg", "pos"],
        4,
        {"a": [(0, "pos"), (1, "pos"), (2, "neg")], "b": [(0, "pos"), (1, "neg")]},
        [(0, "pos"), (1, "neg")],
        project_id=uuid.UUID(pid),
    )
    response = client.post(
        f"/api/v1/projects/{pid}/weak-supervision",
        json={"labeling_task_id": str(built.task_id), "model": "refinery", "min_confidence": 0.5},
    )
    assert response.status_code == 202, response.text
    started = response.json()
    job = wait_for_job(uuid.UUID(started["job"]["id"]), timeout_s=60)
    assert job.state == "done", job.error
    run = client.get(f"/api/v1/projects/{pid}/weak-supervision/runs/{started['run_id']}").json()
    assert run["state"] == "FINISHED" and run["summary"]["model"] == "refinery" and run["summary"]["labels_written"] == 3
    assert run["created_by"] == client.get("/api/v1/auth/me").json()["id"]  # the UI's last-run panel shows who started it
    assert client.get(f"/api/v1/projects/{pid}/labeling-tasks/{built.task_id}/weak-supervision").json()["id"] == started["run_id"]
    assert len(weak_labels(built.task_id)) == 3

    queued = client.post(f"/api/v1/projects/{pid}/labeling-tasks/{built.task_id}/heuristic-statistics")
    assert queued.status_code == 202
    assert wait_for_job(uuid.UUID(queued.json()["id"]), timeout_s=60).state == "done"
    stats = client.get(f"/api/v1/projects/{pid}/labeling-tasks/{built.task_id}/heuristic-statistics").json()
    a_pos = next(s for s in stats if s["source_id"] == str(built.sources["a"]) and s["label_name"] == "pos")
    assert (a_pos["true_positives"], a_pos["false_positives"], a_pos["est_precision"]) == (1, 1, 0.5)
    assert a_pos["record_coverage"] == 2 and a_pos["source_conflicts"] == 1 and a_pos["source_overlaps"] == 1

    bad_model = client.post(
        f"/api/v1/projects/{pid}/weak-supervision", json={"labeling_task_id": str(built.task_id), "model": "magic"}
    )
    assert bad_model.status_code == 422 and "model" in bad_model.json()["detail"]
    bad_extraction = client.post(
        f"/api/v1/projects/{pid}/weak-supervision", json={"labeling_task_id": str(built.task_id), "extraction_model": "crf"}
    )
    assert bad_extraction.status_code == 422 and "extraction_model" in bad_extraction.json()["detail"]
    stranger = client.post(
        f"/api/v1/projects/{pid}/weak-supervision",
        json={"labeling_task_id": str(built.task_id), "heuristic_ids": [str(uuid.uuid4())]},
    )
    assert stranger.status_code == 400 and "do not belong" in stranger.json()["detail"]
    missing = client.post(f"/api/v1/projects/{pid}/weak-supervision", json={"labeling_task_id": str(uuid.uuid4())})
    assert missing.status_code == 404
    assert client.get(f"/api/v1/projects/{pid}/weak-supervision/runs/{uuid.uuid4()}").status_code == 404
    assert len(weak_labels(built.task_id)) == 3  # rejected requests wrote nothing


def test_service_endpoints_directly(clean_db: str, services: Any) -> None:
    import httpx

    service = services.start("weak_supervisor")
    built = build_task(TaskType.MULTICLASS_CLASSIFICATION, ["neg", "pos"], 3, {"a": [(0, "pos"), (1, "neg")]})
    result = httpx.post(
        f"{service.url}/fit_predict",
        json={"labeling_task_id": str(built.task_id), "model": "majority"},
        timeout=30,
        headers=service_headers(),
    ).json()
    assert result["labels_written"] == 2
    assert (
        httpx.post(
            f"{service.url}/fit_predict", json={"labeling_task_id": str(uuid.uuid4())}, timeout=30, headers=service_headers()
        ).status_code
        == 404
    )
    assert (
        httpx.post(
            f"{service.url}/fit_predict",
            json={"labeling_task_id": str(built.task_id), "model": "x"},
            timeout=30,
            headers=service_headers(),
        ).status_code
        == 400
    )
    assert len(httpx.post(f"{service.url}/statistics/{built.task_id}", timeout=30, headers=service_headers()).json()) == 2
