"""Login, cookie sessions, API tokens and users."""

from __future__ import annotations

from fastapi.testclient import TestClient

from ..conftest import ADMIN_PASSWORD
from .conftest import login


def test_every_api_route_requires_authentication(app_client: TestClient) -> None:
    for method, path in [
        ("GET", "/api/v1/projects"),
        ("POST", "/api/v1/projects"),
        ("GET", "/api/v1/auth/me"),
        ("GET", "/api/v1/tokens"),
    ]:
        response = app_client.request(method, path, json={"name": "x"})
        assert response.status_code == 401, path
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "authentication required" in response.json()["detail"]


def test_health_and_login_are_public(app_client: TestClient) -> None:
    assert app_client.get("/health").json()["database"] == "ok"
    assert app_client.post("/api/v1/auth/login", json={"email": "admin@localhost", "password": "wrong"}).status_code == 401


def test_login_sets_http_only_cookie_and_logout_ends_it(app_client: TestClient) -> None:
    response = app_client.post("/api/v1/auth/login", json={"email": "ADMIN@localhost", "password": ADMIN_PASSWORD})
    assert response.status_code == 200
    cookie = response.headers["set-cookie"]
    assert "refinery_session=" in cookie and "HttpOnly" in cookie
    assert app_client.get("/api/v1/auth/me").json()["role"] == "ADMIN"
    stolen = app_client.cookies.get("refinery_session")
    assert app_client.post("/api/v1/auth/logout").status_code == 204
    app_client.cookies.set("refinery_session", stolen)
    assert app_client.get("/api/v1/auth/me").status_code == 401


def test_api_token_lifecycle_stores_only_a_hash(client: TestClient) -> None:
    from sqlalchemy import select

    from shared_model.db import session_scope
    from shared_model.models import ApiToken

    created = client.post("/api/v1/tokens", json={"name": "ci"}).json()
    secret = created["token"]
    with session_scope() as session:
        stored = session.scalar(select(ApiToken).where(ApiToken.id == created["id"]))
        assert stored is not None and secret not in (stored.token_hash, stored.prefix)
    listed = client.get("/api/v1/tokens").json()
    assert [t["name"] for t in listed] == ["ci"] and "token" not in listed[0]
    client.cookies.clear()
    bearer = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/auth/me", headers=bearer).status_code == 200
    assert client.get("/api/v1/tokens", headers=bearer).json()[0]["last_used_at"] is not None
    assert client.delete(f"/api/v1/tokens/{created['id']}", headers=bearer).status_code == 204
    response = client.get("/api/v1/auth/me", headers=bearer)
    assert response.status_code == 401 and "revoked" in response.json()["detail"]
    assert client.get("/api/v1/auth/me", headers={"Authorization": "Bearer rfy_nonsense"}).status_code == 401


def test_only_admin_creates_users_and_duplicates_are_refused(client: TestClient) -> None:
    body = {"email": "ann@example.org", "password": "annotator-pass", "role": "ANNOTATOR"}
    assert client.post("/api/v1/users", json=body).status_code == 201
    duplicate = client.post("/api/v1/users", json={**body, "email": "ANN@example.org"})
    assert duplicate.status_code == 409 and "already exists" in duplicate.json()["detail"]
    assert client.post("/api/v1/users", json={**body, "email": "bad", "password": "x"}).status_code == 422
    client.cookies.clear()
    login(client, "ann@example.org", "annotator-pass")
    assert client.post("/api/v1/users", json={**body, "email": "b@example.org"}).status_code == 403
    assert client.get("/api/v1/users").status_code == 403


def test_first_admin_is_created_once(clean_db: str) -> None:
    from gateway.domain.users import ensure_admin
    from shared_model.db import session_scope

    with session_scope() as session:
        email, password = ensure_admin(session)
    assert email == "admin@localhost" and password == ADMIN_PASSWORD
    with session_scope() as session:
        assert ensure_admin(session) == ("admin@localhost", None)
