"""Jobs over the API and their progress relayed on the websocket to members of the project only."""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from shared_model import jobs
from shared_model.db import session_scope

from .conftest import login


def _enqueue(project_id: str, kind: str = "noop") -> str:
    with session_scope() as session:
        return str(jobs.enqueue(session, kind=kind, owner_service="nobody", project_id=project_id).id)


def test_websocket_requires_authentication(app_client: TestClient) -> None:
    with pytest.raises(WebSocketDisconnect) as info, app_client.websocket_connect("/api/v1/ws") as ws:
        ws.receive_json()
    assert info.value.code == 4401


def test_websocket_relays_progress_of_own_projects(client: TestClient, project: dict[str, Any]) -> None:
    other = client.post("/api/v1/projects", json={"name": "other"}).json()
    with client.websocket_connect("/api/v1/ws") as ws:
        hello = ws.receive_json()
        assert project["id"] in hello["projects"]
        ws.send_json({"project_id": project["id"]})
        time.sleep(0.3)
        _enqueue(other["id"])
        job_id = _enqueue(project["id"])
        event = ws.receive_json()
        assert event["type"] == "job" and event["job"]["id"] == job_id and event["job"]["state"] == "queued"


def test_websocket_does_not_leak_other_users_projects(client: TestClient, project: dict[str, Any]) -> None:
    client.post("/api/v1/users", json={"email": "mal@example.org", "password": "mallory-pass"})
    token = client.post("/api/v1/tokens", json={"name": "ws"}).json()["token"]
    client.cookies.clear()
    login(client, "mal@example.org", "mallory-pass")
    with client.websocket_connect("/api/v1/ws") as ws:
        assert ws.receive_json()["projects"] == []
        mine = client.post("/api/v1/projects", json={"name": "mallory's"}).json()
        # the hub learns memberships at connect time; a fresh connection sees the new project
    with client.websocket_connect("/api/v1/ws") as ws:
        assert ws.receive_json()["projects"] == [mine["id"]]
        time.sleep(0.3)
        leaked = _enqueue(project["id"])  # the admin's project: mallory must never see this job
        own = _enqueue(mine["id"])  # notified after the admin's job: it arrives first only if nothing leaked
        event = ws.receive_json()
        assert event["job"]["id"] != leaked, "a job of another user's project reached mallory's websocket"
        assert event["type"] == "job" and event["job"]["id"] == own and event["job"]["project_id"] == mine["id"]
    client.cookies.clear()
    with client.websocket_connect(f"/api/v1/ws?token={token}") as ws:
        assert project["id"] in ws.receive_json()["projects"]


def test_job_api_list_get_cancel(client: TestClient, project: dict[str, Any]) -> None:
    job_id = _enqueue(project["id"])
    listed = client.get(f"/api/v1/projects/{project['id']}/jobs").json()
    assert [j["id"] for j in listed] == [job_id]
    cancelled = client.post(f"/api/v1/jobs/{job_id}/cancel").json()
    assert cancelled["state"] == "cancelled"
    assert client.get("/api/v1/jobs/00000000-0000-0000-0000-000000000000").status_code == 404
