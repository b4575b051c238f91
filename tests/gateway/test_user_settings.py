"""The caller's own UI settings: stored per user and key, replaced on PUT, limited in size and count."""

from __future__ import annotations

from fastapi.testclient import TestClient

from gateway.routers.user_settings import MAX_KEYS_PER_USER

from .conftest import login


def test_settings_are_per_user_and_replaced(client: TestClient) -> None:
    empty = client.get("/api/v1/me/settings/labeling")
    assert empty.status_code == 200 and empty.json()["value"] == {} and empty.json()["updated_at"] is None
    saved = client.put("/api/v1/me/settings/labeling", json={"value": {"autoNext": True, "labelButtons": 7}})
    assert saved.status_code == 200, saved.text
    assert client.get("/api/v1/me/settings/labeling").json()["value"] == {"autoNext": True, "labelButtons": 7}
    client.put("/api/v1/me/settings/labeling", json={"value": {"swimLanes": True}})
    assert client.get("/api/v1/me/settings/labeling").json()["value"] == {"swimLanes": True}

    # Another user sees only their own.
    assert client.post("/api/v1/users", json={"email": "ann@example.org", "password": "a long password 1"}).status_code == 201
    client.post("/api/v1/auth/logout")
    login(client, "ann@example.org", "a long password 1")
    assert client.get("/api/v1/me/settings/labeling").json()["value"] == {}


def test_bad_keys_big_values_and_too_many_keys_are_refused(client: TestClient) -> None:
    assert client.get("/api/v1/me/settings/Bad Key").status_code == 422
    assert client.put("/api/v1/me/settings/labeling", json={"value": [1, 2]}).status_code == 422
    big = client.put("/api/v1/me/settings/labeling", json={"value": {"x": "y" * 20_000}})
    assert big.status_code == 413 and "16384" in big.json()["detail"]
    for i in range(MAX_KEYS_PER_USER):
        assert client.put(f"/api/v1/me/settings/k{i}", json={"value": {}}).status_code == 200
    over = client.put("/api/v1/me/settings/one-more", json={"value": {}})
    assert over.status_code == 409 and "50" in over.json()["detail"]
    assert client.put("/api/v1/me/settings/k0", json={"value": {"a": 1}}).status_code == 200  # replacing is fine
    anonymous = TestClient(client.app)
    assert anonymous.get("/api/v1/me/settings/labeling").status_code == 401
