"""Gateway fixtures: the app in-process (its job worker included) on the private test database."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ..conftest import ADMIN_PASSWORD


@pytest.fixture()
def app_client(clean_db: str) -> Iterator[TestClient]:
    """An unauthenticated client of a fresh gateway (the admin exists)."""
    from gateway.app import create_app

    with TestClient(create_app()) as client:
        yield client


@pytest.fixture()
def client(app_client: TestClient) -> TestClient:
    """A client logged in as the admin (session cookie)."""
    login(app_client, "admin@localhost", ADMIN_PASSWORD)
    return app_client


def login(client: TestClient, email: str, password: str) -> dict[str, Any]:
    response = client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture()
def project(client: TestClient) -> dict[str, Any]:
    """A fresh project owned by the admin."""
    response = client.post("/api/v1/projects", json={"name": "test project"})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body
