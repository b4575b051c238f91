"""Roles in use (gateway/policies.py), with real bodies: what each role sees of a record's labels, members
management, the installation admin's user management, one-time passwords, invitations, read-only tokens, jobs and
websocket events by role, and project isolation. The route × role table itself: test_route_policies.py."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from shared_model import jobs
from shared_model.db import session_scope
from shared_model.heuristic_results import ResultBuffer, store_session_results
from shared_model.models import HeuristicType, InformationSource, SourceType
from shared_model.models import RecordLabelAssociation as RLA

from .conftest import login
from .test_labeling import API, classify, make_task, second_user, seed_records


def _bearer(client: TestClient, email: str, password: str, **token: Any) -> dict[str, str]:
    other = TestClient(client.app)
    login(other, email, password)
    response = other.post("/api/v1/tokens", json={"name": "t", **token})
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def test_the_creator_is_owner_and_roles_are_listed(client: TestClient, project: dict[str, Any]) -> None:
    pid = project["id"]
    me = client.get("/api/v1/auth/me").json()
    members = client.get(f"{API}/{pid}/members").json()
    assert [(m["id"], m["project_role"]) for m in members] == [(me["id"], "OWNER")]
    assert client.get(f"{API}/{pid}").json()["role"] == "OWNER"
    annotator = second_user(client, pid)
    assert client.get(f"{API}/{pid}", headers=annotator).json()["role"] == "ANNOTATOR"
    permissions = client.get(f"{API}/{pid}/permissions", headers=annotator).json()
    assert permissions["role"] == "ANNOTATOR" and "LABEL" in permissions["actions"] and "RUN_CODE" not in permissions["actions"]
    assert "DELETE_PROJECT" in client.get(f"{API}/{pid}/permissions").json()["actions"]


def test_members_management_keeps_an_owner(client: TestClient) -> None:
    client.post("/api/v1/users", json={"email": "olga@example.org", "password": "olga-password"})
    client.post("/api/v1/users", json={"email": "eng@example.org", "password": "eng-password"})
    olga = _bearer(client, "olga@example.org", "olga-password")
    pid = client.post("/api/v1/projects", json={"name": "olga's"}, headers=olga).json()["id"]
    olga_id = client.get("/api/v1/auth/me", headers=olga).json()["id"]
    added = client.post(f"{API}/{pid}/members", json={"email": "eng@example.org", "role": "ENGINEER"}, headers=olga)
    assert added.status_code == 201 and added.json()["project_role"] == "ENGINEER"
    eng, eng_id = _bearer(client, "eng@example.org", "eng-password"), added.json()["id"]
    # an engineer may change the project but not its members, nor delete it
    assert client.patch(f"{API}/{pid}", json={"description": "changed"}, headers=eng).status_code == 200
    refused = client.patch(f"{API}/{pid}/members/{olga_id}", json={"role": "EXPERT"}, headers=eng)
    assert refused.status_code == 403 and "ENGINEER" in refused.json()["detail"] and "members" in refused.json()["detail"]
    assert client.delete(f"{API}/{pid}", headers=eng).status_code == 403
    # the last owner can be neither demoted nor removed
    last = client.patch(f"{API}/{pid}/members/{olga_id}", json={"role": "ENGINEER"}, headers=olga)
    assert last.status_code == 409 and "last OWNER" in last.json()["detail"]
    assert client.delete(f"{API}/{pid}/members/{olga_id}", headers=olga).status_code == 409
    promoted = client.patch(f"{API}/{pid}/members/{eng_id}", json={"role": "OWNER"}, headers=olga)
    assert promoted.status_code == 200 and promoted.json()["project_role"] == "OWNER"
    assert client.patch(f"{API}/{pid}/members/{olga_id}", json={"role": "EXPERT"}, headers=olga).status_code == 200
    # olga is an expert now: members are out of her reach, the new owner's are not
    assert client.delete(f"{API}/{pid}/members/{eng_id}", headers=olga).status_code == 403
    assert client.delete(f"{API}/{pid}/members/{olga_id}", headers=eng).status_code == 204
    assert client.get(f"{API}/{pid}", headers=olga).status_code == 404


def test_a_member_of_one_project_sees_nothing_of_another(client: TestClient, project: dict[str, Any]) -> None:
    seed_records(project["id"], ["secret"])
    task = make_task(client, project["id"], "t", "MULTICLASS_CLASSIFICATION", None, ["a", "b"])
    client.post("/api/v1/users", json={"email": "b@example.org", "password": "b-password"})
    b = _bearer(client, "b@example.org", "b-password")
    theirs = client.post("/api/v1/projects", json={"name": "b's"}, headers=b).json()["id"]
    assert [p["id"] for p in client.get("/api/v1/projects", headers=b).json()] == [theirs]
    for path in ("", "/records", "/labeling-tasks", f"/labeling-tasks/{task['id']}", "/members", "/jobs", "/export"):
        response = client.get(f"{API}/{project['id']}{path}", headers=b)
        assert response.status_code == 404 and "not a member" in response.json()["detail"], path
    assert client.get(f"{API}/{theirs}/records", headers=b).status_code == 200


def _labels_of_every_kind(client: TestClient, pid: str) -> tuple[int, dict[str, Any], dict[str, str], dict[str, str]]:
    """A record with the admin's, an annotator's and an expert's manual label, a heuristic's vote and a
    weak-supervision label."""
    rid = seed_records(pid, ["a headline"])[0]
    task = make_task(client, pid, "sentiment", "MULTICLASS_CLASSIFICATION", None, ["pos", "neg"])
    annotator = second_user(client, pid)
    expert = second_user(client, pid, "expert@example.org", role="EXPERT")
    assert classify(client, pid, rid, task, ["pos"]).status_code == 200
    assert classify(client, pid, rid, task, ["neg"], headers=annotator).status_code == 200
    assert classify(client, pid, rid, task, ["pos"], headers=expert).status_code == 200
    with session_scope() as session:
        source = InformationSource(
            project_id=uuid.UUID(pid), labeling_task_id=uuid.UUID(task["id"]), type=HeuristicType.PRE_COMPUTED, name="h"
        )
        session.add(source)
        session.flush()
        votes = ResultBuffer()
        votes.add_records(uuid.UUID(task["by_name"]["neg"]), [rid])
        store_session_results(session, uuid.UUID(pid), uuid.UUID(task["id"]), source.id, votes)
        session.add(
            RLA(
                project_id=uuid.UUID(pid),
                record_id=rid,
                labeling_task_id=uuid.UUID(task["id"]),
                label_id=uuid.UUID(task["by_name"]["pos"]),
                source_type=SourceType.WEAK_SUPERVISION,
                confidence=0.9,
            )
        )
    return rid, task, annotator, expert


def test_an_annotator_sees_only_their_own_labels(client: TestClient, project: dict[str, Any]) -> None:
    pid = project["id"]
    rid, task, annotator, expert = _labels_of_every_kind(client, pid)
    annotator_id = client.get("/api/v1/auth/me", headers=annotator).json()["id"]

    def kinds(headers: dict[str, str]) -> list[tuple[str, str | None]]:
        response = client.get(f"{API}/{pid}/records/{rid}/labels", headers=headers)
        assert response.status_code == 200, response.text
        return sorted((row["source_type"], row["created_by"]) for row in response.json())

    everything = kinds(expert)
    assert {kind for kind, _ in everything} == {"MANUAL", "INFORMATION_SOURCE", "WEAK_SUPERVISION"}
    assert len([1 for kind, _ in everything if kind == "MANUAL"]) == 3
    assert kinds({}) == everything  # the admin (owner) likewise
    assert kinds(annotator) == [("MANUAL", annotator_id)]
    for source in ("WEAK_SUPERVISION", "INFORMATION_SOURCE"):
        response = client.get(f"{API}/{pid}/records/{rid}/labels", params={"source_type": source}, headers=annotator)
        assert response.json() == []
    # the labeling answer: the valid labels of others are not shown to an annotator
    mine = classify(client, pid, rid, task, ["neg"], headers=annotator).json()
    assert {row["created_by"] for row in mine["mine"] + mine["valid"]} <= {annotator_id}
    # and heuristics, weak supervision, the data browser and the export are out of their reach
    for method, path in (
        ("GET", "/heuristics"),
        ("GET", f"/labeling-tasks/{task['id']}/weak-supervision"),
        ("POST", "/records/search"),
        ("GET", "/export"),
        ("GET", "/metrics/progress"),
    ):
        response = client.request(method, f"{API}/{pid}{path}", json={} if method == "POST" else None, headers=annotator)
        assert response.status_code == 403 and "ANNOTATOR" in response.json()["detail"], path


def test_an_expert_labels_and_reads_but_runs_no_code(client: TestClient, project: dict[str, Any]) -> None:
    pid = project["id"]
    rid, task, _, expert = _labels_of_every_kind(client, pid)
    assert client.put(f"{API}/{pid}/records/{rid}/labeling-tasks/{task['id']}/gold-star", headers=expert).status_code == 200
    assert client.get(f"{API}/{pid}/heuristics", headers=expert).status_code == 200
    assert client.post(f"{API}/{pid}/records/search", json={}, headers=expert).status_code == 200
    code = {"labeling_task_id": task["id"], "name": "lf", "source_code": "def lf(record):\n    return 'pos'\n"}
    refused = client.post(f"{API}/{pid}/heuristics", json=code, headers=expert)
    assert refused.status_code == 403 and "run code" in refused.json()["detail"]
    ide = client.post(f"{API}/{pid}/records/{rid}/ide", json={"code": "print(1)"}, headers=expert)
    assert ide.status_code == 403
    assert client.post(f"{API}/{pid}/heuristics", json=code).status_code == 201  # the owner may


def test_read_only_tokens(client: TestClient, project: dict[str, Any]) -> None:
    created = client.post("/api/v1/tokens", json={"name": "reader", "read_only": True})
    assert created.status_code == 201 and created.json()["read_only"] is True
    reader = {"Authorization": f"Bearer {created.json()['token']}"}
    assert client.get(f"{API}/{project['id']}", headers=reader).status_code == 200
    assert [t["read_only"] for t in client.get("/api/v1/tokens").json()] == [True]
    other = TestClient(client.app)  # no cookie: the token alone
    for method, path in (("PATCH", f"{API}/{project['id']}"), ("POST", "/api/v1/projects"), ("POST", "/api/v1/tokens")):
        response = other.request(method, path, json={"name": "x"}, headers=reader)
        assert response.status_code == 403 and "read-only" in response.json()["detail"], path
    assert client.get(f"{API}/{project['id']}").json()["name"] == project["name"]
    writer = other.post("/api/v1/tokens", json={"name": "writer"}, headers={"Authorization": f"Bearer {_token(client)}"})
    assert writer.status_code == 201 and writer.json()["read_only"] is False


def _token(client: TestClient) -> str:
    token: str = client.post("/api/v1/tokens", json={"name": "w"}).json()["token"]
    return token


def test_admin_manages_users_one_time_password_invitation_reset_deactivate(app_client: TestClient, client: TestClient) -> None:
    created = client.post("/api/v1/users", json={"email": "new@example.org", "role": "EXPERT"})
    assert created.status_code == 201, created.text
    one_time, user_id = created.json()["one_time_password"], created.json()["id"]
    assert one_time and created.json()["password_change_required"] is True
    fresh = TestClient(client.app)
    assert login(fresh, "new@example.org", one_time)["password_change_required"] is True
    blocked = fresh.get("/api/v1/projects")
    assert blocked.status_code == 403 and "one-time password" in blocked.json()["detail"]
    assert fresh.get("/api/v1/auth/me").status_code == 200
    wrong = fresh.post("/api/v1/auth/password", json={"current_password": "nope", "new_password": "my-own-password"})
    assert wrong.status_code == 403
    changed = fresh.post("/api/v1/auth/password", json={"current_password": one_time, "new_password": "my-own-password"})
    assert changed.status_code == 200 and changed.json()["password_change_required"] is False
    assert fresh.get("/api/v1/projects").status_code == 200
    # an expert may not create projects nor manage users
    assert fresh.post("/api/v1/projects", json={"name": "x"}).status_code == 403
    assert fresh.get("/api/v1/users").status_code == 403
    # reset: the old password stops working, the new one-time one must be changed
    reset = client.post(f"/api/v1/users/{user_id}/password-reset")
    assert reset.status_code == 200
    assert fresh.get("/api/v1/auth/me").status_code == 401  # the session ended
    assert fresh.post("/api/v1/auth/login", json={"email": "new@example.org", "password": "my-own-password"}).status_code == 401
    assert login(fresh, "new@example.org", reset.json()["one_time_password"])["password_change_required"] is True
    # deactivation: no login, no token
    assert client.patch(f"/api/v1/users/{user_id}", json={"is_active": False}).json()["is_active"] is False
    assert fresh.get("/api/v1/auth/me").status_code == 401
    me = client.get("/api/v1/auth/me").json()
    assert client.patch(f"/api/v1/users/{me['id']}", json={"is_active": False}).status_code == 409
    # an invitation sets the password once
    invited = client.post("/api/v1/users", json={"email": "inv@example.org", "invite": True, "role": "ANNOTATOR"}).json()
    assert invited["one_time_password"] is None and invited["invitation_url"].endswith(invited["invitation_token"])
    accepted = app_client.post("/api/v1/auth/invitation", json={"token": invited["invitation_token"], "password": "invited-pw"})
    assert accepted.status_code == 200, accepted.text
    again = app_client.post("/api/v1/auth/invitation", json={"token": invited["invitation_token"], "password": "other-pw-1"})
    assert again.status_code == 404
    login(TestClient(client.app), "inv@example.org", "invited-pw")


def _enqueue(project_id: str, kind: str) -> str:
    with session_scope() as session:
        return str(jobs.enqueue(session, kind=kind, owner_service="nobody", project_id=project_id).id)


def test_jobs_and_websocket_events_follow_the_role(client: TestClient, project: dict[str, Any]) -> None:
    pid = project["id"]
    annotator = second_user(client, pid)
    expert = second_user(client, pid, "expert@example.org", role="EXPERT")
    heuristic_job = _enqueue(pid, "heuristic_run")
    assert client.get(f"/api/v1/jobs/{heuristic_job}", headers=annotator).status_code == 404
    assert client.get(f"/api/v1/jobs/{heuristic_job}", headers=expert).status_code == 200
    assert [j["id"] for j in client.get(f"{API}/{pid}/jobs", headers=annotator).json()] == []
    refused = client.post(f"/api/v1/jobs/{heuristic_job}/cancel", headers=expert)
    assert refused.status_code == 403
    sockets = TestClient(client.app)
    token = {name: headers["Authorization"][7:] for name, headers in (("annotator", annotator), ("expert", expert))}
    with (
        sockets.websocket_connect(f"/api/v1/ws?token={token['annotator']}") as ann,
        sockets.websocket_connect(f"/api/v1/ws?token={token['expert']}") as exp,
    ):
        assert ann.receive_json()["projects"] == [pid] and exp.receive_json()["projects"] == [pid]
        time.sleep(0.3)
        hidden = _enqueue(pid, "weak_supervision")
        shown = _enqueue(pid, "tokenize_project")
        assert exp.receive_json()["job"]["id"] == hidden  # the expert gets both, in order
        assert exp.receive_json()["job"]["id"] == shown
        event = ann.receive_json()  # the annotator's first event is the second job: the first never came
        assert event["job"]["id"] == shown, "a weak-supervision job reached an annotator's websocket"


def test_websocket_of_a_deactivated_user_is_refused(client: TestClient, project: dict[str, Any]) -> None:
    headers = second_user(client, project["id"])
    user_id = client.get("/api/v1/auth/me", headers=headers).json()["id"]
    client.patch(f"/api/v1/users/{user_id}", json={"is_active": False})
    with (
        pytest.raises(WebSocketDisconnect) as info,
        TestClient(client.app).websocket_connect(f"/api/v1/ws?token={headers['Authorization'][7:]}") as ws,
    ):
        ws.receive_json()
    assert info.value.code == 4401
