"""Every route × every role against a table: who may call what (gateway/policies.py), through the real gateway.

For each role (the installation admin, a project's OWNER, ENGINEER, EXPERT and ANNOTATOR, a signed-in user who is not
a member, an anonymous caller) the test calls every operation of the OpenAPI schema with that role's API token, on a
project of its own (so that the OWNER's "delete project" ends only its own walk), and compares the answer's class
with TABLE:

- allowed: anything but 401, 403 and the "not a member" 404 (a random id answers its own 404, an empty body 422;
  503 where a service this in-process gateway calls is not running); never another 5xx;
- refused: 401 for the anonymous caller, 404 (the project is not disclosed) for a non-member, 403 for a member
  whose role may not.

A route missing from TABLE, or without a policy (``dependencies=[allow(Action.…)]``), fails with what to add.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from .conftest import login

# who may call each route:
#   public   anyone, signed in or not          account  any signed-in user, even with a one-time password
#   user     any signed-in user                creator  users who may create projects (ADMIN, ENGINEER)
#   admin    the installation's admin          member   every member of the project (ANNOTATOR and up)
#   expert   EXPERT, ENGINEER, OWNER           engineer ENGINEER, OWNER (server-side code, project changes)
#   owner    OWNER (members, deleting the project)
# (the installation's admin acts as the OWNER of every project)
TABLE: dict[str, str] = {
    "GET /api/v1/config": "user",
    "GET /api/v1/me/settings/{key}": "account",
    "PUT /api/v1/me/settings/{key}": "account",
    "GET /api/v1/sample-projects": "user",
    "POST /api/v1/sample-projects/{name}/import": "creator",
    "GET /api/v1/projects/{project_id}/label-history": "expert",
    "POST /api/v1/projects/{project_id}/label-history/revert": "engineer",
    "GET /api/v1/projects/{project_id}/records/{record_id}/label-history": "expert",
    "GET /api/v1/projects/{project_id}/label-resolution": "member",
    "PUT /api/v1/projects/{project_id}/label-resolution": "engineer",
    "GET /api/v1/projects/{project_id}/labeling-sessions/{session_id}/window": "member",
    "GET /api/v1/projects/{project_id}/metrics/agreement": "expert",
    "POST /api/v1/projects/{project_id}/export": "expert",
    "POST /api/v1/projects/{project_id}/records/bulk-delete": "engineer",
    "PUT /api/v1/projects/{project_id}/attributes/{attribute_id}/visibility": "engineer",
    "POST /api/v1/auth/invitation": "public",
    "POST /api/v1/auth/login": "public",
    "POST /api/v1/auth/logout": "public",
    "GET /api/v1/auth/me": "account",
    "POST /api/v1/auth/password": "account",
    "GET /api/v1/embedding-models": "user",
    "GET /api/v1/health": "public",
    "GET /api/v1/jobs/{job_id}": "user",
    "POST /api/v1/jobs/{job_id}/cancel": "user",
    "GET /api/v1/projects": "user",
    "POST /api/v1/projects": "creator",
    "POST /api/v1/projects/import": "creator",
    "GET /api/v1/projects/{project_id}": "member",
    "PATCH /api/v1/projects/{project_id}": "engineer",
    "DELETE /api/v1/projects/{project_id}": "owner",
    "GET /api/v1/projects/{project_id}/assignments": "engineer",
    "POST /api/v1/projects/{project_id}/assignments": "engineer",
    "GET /api/v1/projects/{project_id}/assignments/{assignment_id}": "engineer",
    "PATCH /api/v1/projects/{project_id}/assignments/{assignment_id}": "engineer",
    "DELETE /api/v1/projects/{project_id}/assignments/{assignment_id}": "engineer",
    "POST /api/v1/projects/{project_id}/assignments/{assignment_id}/revert": "engineer",
    "GET /api/v1/projects/{project_id}/my-assignments": "member",
    "GET /api/v1/projects/{project_id}/my-assignments/{assignment_id}/next": "member",
    "PUT /api/v1/projects/{project_id}/my-assignments/{assignment_id}/comment": "member",
    "POST /api/v1/projects/{project_id}/my-assignments/{assignment_id}/skip": "member",
    "GET /api/v1/projects/{project_id}/attributes": "member",
    "GET /api/v1/projects/{project_id}/attributes/calculated": "member",
    "POST /api/v1/projects/{project_id}/attributes/calculated": "engineer",
    "POST /api/v1/projects/{project_id}/attributes/calculated/sample": "engineer",
    "GET /api/v1/projects/{project_id}/attributes/calculated/{attribute_id}": "member",
    "PATCH /api/v1/projects/{project_id}/attributes/calculated/{attribute_id}": "engineer",
    "DELETE /api/v1/projects/{project_id}/attributes/calculated/{attribute_id}": "engineer",
    "POST /api/v1/projects/{project_id}/attributes/calculated/{attribute_id}/run": "engineer",
    "POST /api/v1/projects/{project_id}/attributes/calculated/{attribute_id}/sample": "engineer",
    "PUT /api/v1/projects/{project_id}/attributes/{attribute_id}/primary-key": "engineer",
    "GET /api/v1/projects/{project_id}/comments": "member",
    "POST /api/v1/projects/{project_id}/comments": "member",
    "PATCH /api/v1/projects/{project_id}/comments/{comment_id}": "member",
    "DELETE /api/v1/projects/{project_id}/comments/{comment_id}": "member",
    "POST /api/v1/projects/{project_id}/embeddings": "engineer",
    "GET /api/v1/projects/{project_id}/embeddings": "member",
    "GET /api/v1/projects/{project_id}/embeddings/{embedding_id}": "member",
    "DELETE /api/v1/projects/{project_id}/embeddings/{embedding_id}": "engineer",
    "POST /api/v1/projects/{project_id}/embeddings/{embedding_id}/outliers": "engineer",
    "POST /api/v1/projects/{project_id}/embeddings/{embedding_id}/refresh": "engineer",
    "POST /api/v1/projects/{project_id}/embeddings/{embedding_id}/similar": "expert",
    "GET /api/v1/projects/{project_id}/export": "expert",
    "GET /api/v1/projects/{project_id}/heuristics": "expert",
    "POST /api/v1/projects/{project_id}/heuristics": "engineer",
    "POST /api/v1/projects/{project_id}/heuristics/runs": "engineer",
    "GET /api/v1/projects/{project_id}/heuristics/{heuristic_id}": "expert",
    "PATCH /api/v1/projects/{project_id}/heuristics/{heuristic_id}": "engineer",
    "DELETE /api/v1/projects/{project_id}/heuristics/{heuristic_id}": "engineer",
    "POST /api/v1/projects/{project_id}/heuristics/{heuristic_id}/associations": "engineer",
    "POST /api/v1/projects/{project_id}/heuristics/{heuristic_id}/runs": "engineer",
    "GET /api/v1/projects/{project_id}/heuristics/{heuristic_id}/runs": "expert",
    "GET /api/v1/projects/{project_id}/heuristics/{heuristic_id}/runs/{run_id}": "expert",
    "POST /api/v1/projects/{project_id}/heuristics/{heuristic_id}/runs/{run_id}/cancel": "engineer",
    "POST /api/v1/projects/{project_id}/heuristics/{heuristic_id}/sample": "engineer",
    "GET /api/v1/projects/{project_id}/jobs": "member",
    "POST /api/v1/projects/{project_id}/labeling-sessions": "expert",
    "GET /api/v1/projects/{project_id}/labeling-sessions": "member",
    "GET /api/v1/projects/{project_id}/labeling-sessions/{session_id}": "member",
    "DELETE /api/v1/projects/{project_id}/labeling-sessions/{session_id}": "member",
    "POST /api/v1/projects/{project_id}/labeling-sessions/{session_id}/next": "member",
    "PUT /api/v1/projects/{project_id}/labeling-sessions/{session_id}/position": "member",
    "POST /api/v1/projects/{project_id}/labeling-sessions/{session_id}/previous": "member",
    "GET /api/v1/projects/{project_id}/labeling-sessions/{session_id}/records": "member",
    "GET /api/v1/projects/{project_id}/labeling-tasks": "member",
    "POST /api/v1/projects/{project_id}/labeling-tasks": "engineer",
    "GET /api/v1/projects/{project_id}/labeling-tasks/{task_id}": "member",
    "PATCH /api/v1/projects/{project_id}/labeling-tasks/{task_id}": "engineer",
    "DELETE /api/v1/projects/{project_id}/labeling-tasks/{task_id}": "engineer",
    "GET /api/v1/projects/{project_id}/labeling-tasks/{task_id}/heuristic-statistics": "expert",
    "POST /api/v1/projects/{project_id}/labeling-tasks/{task_id}/heuristic-statistics": "engineer",
    "POST /api/v1/projects/{project_id}/labeling-tasks/{task_id}/labels": "engineer",
    "GET /api/v1/projects/{project_id}/labeling-tasks/{task_id}/weak-supervision": "expert",
    "GET /api/v1/projects/{project_id}/labeling-tasks/{task_id}/weak-supervision/probabilities": "expert",
    "PATCH /api/v1/projects/{project_id}/labels/{label_id}": "engineer",
    "DELETE /api/v1/projects/{project_id}/labels/{label_id}": "engineer",
    "GET /api/v1/projects/{project_id}/lookup-lists": "expert",
    "POST /api/v1/projects/{project_id}/lookup-lists": "engineer",
    "GET /api/v1/projects/{project_id}/lookup-lists/{list_id}": "expert",
    "PATCH /api/v1/projects/{project_id}/lookup-lists/{list_id}": "engineer",
    "DELETE /api/v1/projects/{project_id}/lookup-lists/{list_id}": "engineer",
    "GET /api/v1/projects/{project_id}/lookup-lists/{list_id}/python": "expert",
    "GET /api/v1/projects/{project_id}/lookup-lists/{list_id}/terms": "expert",
    "POST /api/v1/projects/{project_id}/lookup-lists/{list_id}/terms": "engineer",
    "POST /api/v1/projects/{project_id}/lookup-lists/{list_id}/terms/csv": "engineer",
    "POST /api/v1/projects/{project_id}/lookup-lists/{list_id}/terms/paste": "engineer",
    "PATCH /api/v1/projects/{project_id}/lookup-lists/{list_id}/terms/{term_id}": "engineer",
    "DELETE /api/v1/projects/{project_id}/lookup-lists/{list_id}/terms/{term_id}": "engineer",
    "POST /api/v1/projects/{project_id}/manual-labels/bulk": "expert",
    "GET /api/v1/projects/{project_id}/members": "member",
    "POST /api/v1/projects/{project_id}/members": "owner",
    "PATCH /api/v1/projects/{project_id}/members/{user_id}": "owner",
    "DELETE /api/v1/projects/{project_id}/members/{user_id}": "owner",
    "GET /api/v1/projects/{project_id}/metrics/confidence-histogram": "expert",
    "GET /api/v1/projects/{project_id}/metrics/confusion-matrix": "expert",
    "GET /api/v1/projects/{project_id}/metrics/heuristics": "expert",
    "GET /api/v1/projects/{project_id}/metrics/label-distribution": "expert",
    "GET /api/v1/projects/{project_id}/metrics/progress": "expert",
    "GET /api/v1/projects/{project_id}/metrics/weak-supervision-quality": "expert",
    "GET /api/v1/projects/{project_id}/permissions": "member",
    "GET /api/v1/projects/{project_id}/records": "member",
    "POST /api/v1/projects/{project_id}/records/bulk-label": "expert",
    "POST /api/v1/projects/{project_id}/records/count": "expert",
    "POST /api/v1/projects/{project_id}/records/labeling-function": "engineer",
    "POST /api/v1/projects/{project_id}/records/search": "expert",
    "GET /api/v1/projects/{project_id}/records/unique-values": "expert",
    "POST /api/v1/projects/{project_id}/records/{record_id}/ide": "engineer",
    "PATCH /api/v1/projects/{project_id}/records/{record_id}": "engineer",
    "PUT /api/v1/projects/{project_id}/records/{record_id}/labeling-tasks/{task_id}/classification": "member",
    "DELETE /api/v1/projects/{project_id}/records/{record_id}/labeling-tasks/{task_id}/classification": "member",
    "PUT /api/v1/projects/{project_id}/records/{record_id}/labeling-tasks/{task_id}/gold-star": "expert",
    "DELETE /api/v1/projects/{project_id}/records/{record_id}/labeling-tasks/{task_id}/gold-star": "expert",
    "POST /api/v1/projects/{project_id}/records/{record_id}/labeling-tasks/{task_id}/spans": "member",
    "GET /api/v1/projects/{project_id}/records/{record_id}/labels": "member",
    "DELETE /api/v1/projects/{project_id}/records/{record_id}/labels/{label_row_id}": "member",
    "GET /api/v1/projects/{project_id}/records/{record_id}/tokens": "member",
    "GET /api/v1/projects/{project_id}/slices": "expert",
    "POST /api/v1/projects/{project_id}/slices": "engineer",
    "GET /api/v1/projects/{project_id}/slices/{slice_id}": "expert",
    "PATCH /api/v1/projects/{project_id}/slices/{slice_id}": "engineer",
    "DELETE /api/v1/projects/{project_id}/slices/{slice_id}": "engineer",
    "POST /api/v1/projects/{project_id}/slices/{slice_id}/records": "engineer",
    "GET /api/v1/projects/{project_id}/snapshot": "expert",
    "POST /api/v1/projects/{project_id}/tokenize": "engineer",
    "PUT /api/v1/projects/{project_id}/tokenizer": "engineer",
    "POST /api/v1/projects/{project_id}/upload": "engineer",
    "POST /api/v1/projects/{project_id}/weak-supervision": "engineer",
    "GET /api/v1/projects/{project_id}/weak-supervision/runs/{run_id}": "expert",
    "GET /api/v1/projects/{project_id}/weak-supervision/runs/{run_id}/probabilities": "expert",
    "POST /api/v1/projects/{project_id}/zero-shot/heuristics": "engineer",
    "POST /api/v1/projects/{project_id}/zero-shot/heuristics/{heuristic_id}/runs": "engineer",
    "POST /api/v1/projects/{project_id}/zero-shot/playground": "engineer",
    "GET /api/v1/tokens": "user",
    "POST /api/v1/tokens": "user",
    "DELETE /api/v1/tokens/{token_id}": "user",
    "GET /api/v1/users": "admin",
    "POST /api/v1/users": "admin",
    "PATCH /api/v1/users/{user_id}": "admin",
    "POST /api/v1/users/{user_id}/password-reset": "admin",
    "GET /health": "public",
}

ROLES = ("admin", "owner", "engineer", "expert", "annotator", "non_member", "anonymous")
MEMBER_ROLES = {"owner": "OWNER", "engineer": "ENGINEER", "expert": "EXPERT", "annotator": "ANNOTATOR"}
RANK = {"annotator": 1, "expert": 2, "engineer": 3, "owner": 4}
NEEDED = {"member": 1, "expert": 2, "engineer": 3, "owner": 4}
PASSWORD = "role-walk-pass"


def expected(category: str, role: str) -> str:
    """``ok``, ``401``, ``403`` or ``404`` for ``role`` calling a route of ``category``."""
    if category == "public":
        return "ok"
    if role == "anonymous":
        return "401"
    if role == "admin" or category in ("account", "user"):
        return "ok"
    if category == "admin":
        return "403"
    if category == "creator":
        return "ok" if role in ("owner", "engineer", "non_member") else "403"  # their installation role: ENGINEER
    if role == "non_member":
        return "404"
    return "ok" if RANK[role] >= NEEDED[category] else "403"


def outcome(status: int, body: Any) -> str:
    if status in (401, 403):
        return str(status)
    detail = body.get("detail") if isinstance(body, dict) else None
    if status == 404 and isinstance(detail, str) and "or you are not a member of it" in detail:
        return "404"
    if status >= 500 and status != 503:
        return f"server error {status}"
    return "ok"


def _value(parameter: dict[str, Any]) -> str:
    schema = parameter.get("schema", {})
    if schema.get("type") == "integer":
        return "2147483000"
    if schema.get("format") == "uuid":
        return str(uuid.uuid4())
    return "x"


@dataclass
class Caller:
    role: str
    headers: dict[str, str]
    project_id: str


@pytest.fixture()
def callers(client: TestClient) -> Iterator[dict[str, Caller]]:
    """Per role a token and a project of its own (created by the owner, with the other roles as members)."""
    tokens: dict[str, dict[str, str]] = {"admin": {"Authorization": f"Bearer {_token(client)}"}, "anonymous": {}}
    roles = {"owner": "ENGINEER", "engineer": "ENGINEER", "expert": "EXPERT", "annotator": "ANNOTATOR", "non_member": "ENGINEER"}
    for name, installation_role in roles.items():
        body = {"email": f"{name}@walk.example", "password": PASSWORD, "role": installation_role}
        assert client.post("/api/v1/users", json=body).status_code == 201
    other = TestClient(client.app)
    for name in roles:
        other.cookies.clear()
        login(other, f"{name}@walk.example", PASSWORD)
        tokens[name] = {"Authorization": f"Bearer {_token(other)}"}
    result = {}
    for role in ROLES:
        created = client.post("/api/v1/projects", json={"name": f"walk of {role}"}, headers=tokens["owner"])
        assert created.status_code == 201, created.text
        pid = created.json()["id"]
        for name, member_role in MEMBER_ROLES.items():
            if name != "owner":
                added = client.post(
                    f"/api/v1/projects/{pid}/members",
                    json={"email": f"{name}@walk.example", "role": member_role},
                    headers=tokens["owner"],
                )
                assert added.status_code == 201, added.text
        result[role] = Caller(role, tokens[role], pid)
    yield result


def _token(client: TestClient) -> str:
    response = client.post("/api/v1/tokens", json={"name": "walk"})
    assert response.status_code == 201, response.text
    token: str = response.json()["token"]
    return token


def _operations(client: TestClient) -> list[tuple[str, str, dict[str, Any]]]:
    schema = client.get("/api/openapi.json").json()
    found = [(method.upper(), path, op) for path, ops in schema["paths"].items() for method, op in ops.items()]
    # deleting the project last: it ends the project for the rest of the walk
    return sorted(found, key=lambda o: (o[0] == "DELETE" and o[1] == "/api/v1/projects/{project_id}", o[1], o[0]))


def test_every_route_is_in_the_table(client: TestClient) -> None:
    documented = {f"{method} {path}" for method, path, _ in _operations(client)}
    missing = sorted(documented - set(TABLE))
    assert not missing, (
        "routes without a row in TABLE (tests/gateway/test_route_policies.py): "
        + ", ".join(missing)
        + ". Give each a policy in its decorator, dependencies=[allow(Action.<what it does>)] (gateway/policies.py), "
        "and add its row here (public/account/user/creator/admin/member/expert/engineer/owner)."
    )
    stale = sorted(set(TABLE) - documented)
    assert not stale, f"TABLE names routes the gateway no longer has: {', '.join(stale)}"


def test_every_route_declares_a_policy(client: TestClient) -> None:
    from gateway.policies import route_action

    undeclared = []
    for route in _api_routes(client.app):
        if route.path == "/health":  # shared_model's liveness route of every service: public by design
            continue
        if route_action(route.dependant) is None:
            undeclared.extend(f"{method} {route.path}" for method in sorted(route.methods))
    assert not undeclared, (
        f"routes without a policy: {', '.join(undeclared)}. Add dependencies=[allow(Action.X)] to the decorator "
        "(or a parameter `permit: Annotated[Permit, allow(Action.X)]`), X from gateway/policies.py's Action, "
        "and its row in TABLE of tests/gateway/test_route_policies.py."
    )


def _api_routes(app: Any) -> Iterator[APIRoute]:
    stack = list(app.router.routes)
    while stack:
        route = stack.pop()
        if isinstance(route, APIRoute):
            yield route
        inner = getattr(route, "original_router", None)
        if inner is not None:
            stack.extend(inner.routes)


def test_every_route_for_every_role(client: TestClient, callers: dict[str, Caller]) -> None:
    walker = TestClient(client.app)
    mismatches = []
    for role in ROLES:
        caller = callers[role]
        for method, path, operation in _operations(client):
            category = TABLE.get(f"{method} {path}")
            if category is None:
                continue  # test_every_route_is_in_the_table names it
            url = path.replace("{project_id}", caller.project_id)
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path" and parameter["name"] != "project_id":
                    url = url.replace("{" + parameter["name"] + "}", _value(parameter))
            body = {} if method in ("POST", "PUT", "PATCH") else None
            walker.cookies.clear()
            response = walker.request(method, url, json=body, headers=caller.headers)
            try:
                answer = response.json()
            except ValueError:
                answer = None
            got, want = outcome(response.status_code, answer), expected(category, role)
            if got != want:
                mismatches.append(f"{role:10} {method} {path} [{category}]: want {want}, got {response.status_code} {answer}")
    assert not mismatches, f"{len(mismatches)} answers differ from the table:\n" + "\n".join(mismatches)


def test_the_websocket_for_every_role(client: TestClient, callers: dict[str, Caller]) -> None:
    """``/api/v1/ws``: anonymous callers are refused (4401); everyone else hears of the projects they may see."""
    from starlette.websockets import WebSocketDisconnect

    socket = TestClient(client.app)
    project = callers["owner"].project_id
    for role in ROLES:
        token = callers[role].headers.get("Authorization", "")[7:]
        if role == "anonymous":
            with pytest.raises(WebSocketDisconnect) as info, socket.websocket_connect("/api/v1/ws") as ws:
                ws.receive_json()
            assert info.value.code == 4401
            continue
        with socket.websocket_connect(f"/api/v1/ws?token={token}") as ws:
            hello = ws.receive_json()
        assert (project in hello["projects"]) == (role != "non_member"), role
