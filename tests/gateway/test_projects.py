"""Projects: CRUD, membership isolation and deletion as a job."""

from __future__ import annotations

import time
from typing import Any

from fastapi.testclient import TestClient

from .conftest import login


def wait_job(client: TestClient, job_id: str, timeout_s: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(f"/api/v1/jobs/{job_id}").json()
        if job["state"] in ("done", "failed", "cancelled"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish")


def test_create_list_get_rename(client: TestClient) -> None:
    created = client.post("/api/v1/projects", json={"name": "  headlines ", "description": "d"}).json()
    assert created["name"] == "headlines" and created["record_count"] == 0 and created["tokenizer"] == "en"
    renamed = client.patch(f"/api/v1/projects/{created['id']}", json={"name": "news"}).json()
    assert renamed["name"] == "news" and renamed["description"] == "d"
    assert client.get(f"/api/v1/projects/{created['id']}").json()["name"] == "news"
    assert [p["name"] for p in client.get("/api/v1/projects").json()] == ["news"]


def test_bad_project_input_is_named(client: TestClient) -> None:
    response = client.post("/api/v1/projects", json={"name": ""})
    assert response.status_code == 422 and "name" in response.json()["detail"]
    missing = client.get("/api/v1/projects/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404 and "does not exist" in missing.json()["detail"]
    assert client.get("/api/v1/projects/not-a-uuid").status_code == 422


def test_users_see_only_their_projects(client: TestClient) -> None:
    mine = client.post("/api/v1/projects", json={"name": "admin's"}).json()
    client.post("/api/v1/users", json={"email": "eve@example.org", "password": "eve-password"})
    client.post("/api/v1/users", json={"email": "bob@example.org", "password": "bob-password"})
    client.cookies.clear()
    login(client, "eve@example.org", "eve-password")
    assert client.get("/api/v1/projects").json() == []
    for method in ("GET", "PATCH", "DELETE"):
        assert client.request(method, f"/api/v1/projects/{mine['id']}", json={"name": "x"}).status_code == 404
    hers = client.post("/api/v1/projects", json={"name": "eve's"}).json()
    assert client.post(f"/api/v1/projects/{hers['id']}/members", json={"email": "bob@example.org"}).status_code == 201
    client.cookies.clear()
    login(client, "bob@example.org", "bob-password")
    assert [p["name"] for p in client.get("/api/v1/projects").json()] == ["eve's"]


def test_delete_is_a_job_that_cascades(client: TestClient, project: dict[str, Any]) -> None:
    from sqlalchemy import func, select

    from shared_model.db import session_scope
    from shared_model.heuristic_results import ResultBuffer, store_session_results
    from shared_model.models import (
        Attribute,
        DataType,
        HeuristicResult,
        HeuristicType,
        InformationSource,
        Label,
        LabelingTask,
        Record,
        TaskTarget,
        TaskType,
    )

    with session_scope() as session:
        attribute = Attribute(project_id=project["id"], name="text", data_type=DataType.TEXT, relative_position=0)
        session.add(attribute)
        records = [Record(project_id=project["id"], data={"text": f"r{i}"}) for i in range(120)]
        session.add_all(records)
        task = LabelingTask(
            project_id=project["id"],
            name="t",
            task_target=TaskTarget.ON_WHOLE_RECORD,
            task_type=TaskType.MULTICLASS_CLASSIFICATION,
        )
        session.add(task)
        session.flush()
        label = Label(project_id=project["id"], labeling_task_id=task.id, name="a")
        source = InformationSource(project_id=project["id"], labeling_task_id=task.id, type=HeuristicType.PRE_COMPUTED, name="h")
        session.add_all([label, source])
        session.flush()
        votes = ResultBuffer()
        votes.add_records(label.id, [r.id for r in records])
        store_session_results(session, project["id"], task.id, source.id, votes)
    assert client.get(f"/api/v1/projects/{project['id']}").json()["record_count"] == 120
    response = client.delete(f"/api/v1/projects/{project['id']}")
    assert response.status_code == 202 and response.json()["kind"] == "project_delete"
    assert client.get("/api/v1/projects").json() == []
    job = wait_job(client, response.json()["id"])
    assert job["state"] == "done" and job["result"] == {"deleted_records": 120, "deleted_files": 0}
    with session_scope() as session:
        for table in (Record, Attribute, LabelingTask, Label, InformationSource, HeuristicResult):
            assert session.scalar(select(func.count()).select_from(table)) == 0


def test_unknown_tokenizer_is_refused_at_creation(client: TestClient, services: Any) -> None:
    services.start("tokenizer")
    response = client.post("/api/v1/projects", json={"name": "x", "tokenizer": "xx_no_such_pipeline"})
    assert response.status_code == 422 and "xx_no_such_pipeline" in response.json()["detail"]
    assert client.get("/api/v1/projects").json() == []
    german = client.post("/api/v1/projects", json={"name": "de", "tokenizer": "de"})
    assert german.status_code == 201 and german.json()["tokenizer"] == "de"
