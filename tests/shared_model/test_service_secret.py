"""Internal services answer only calls carrying the service secret; the public gateway does not ask for it."""

from __future__ import annotations

import multiprocessing
import stat
from pathlib import Path

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient

from shared_model.service import SERVICE_SECRET_HEADER, create_service_app, service_headers, service_secret
from shared_model.service.secret import ensure_secret_file


def _app(*, public: bool = False) -> TestClient:
    router = APIRouter()

    @router.get("/work")
    def work() -> dict[str, str]:
        return {"done": "yes"}

    return TestClient(create_service_app(service="probe", version="0", routers=[router], migrate=False, public=public))


def test_an_internal_service_refuses_calls_without_the_secret() -> None:
    client = _app()
    missing = client.get("/work")
    assert missing.status_code == 401
    assert missing.headers["content-type"] == "application/problem+json"
    assert SERVICE_SECRET_HEADER in missing.json()["detail"] and missing.json()["instance"] == "/work"
    wrong = client.get("/work", headers={SERVICE_SECRET_HEADER: service_secret() + "x"})
    assert wrong.status_code == 403
    assert "does not match" in wrong.json()["detail"]
    assert client.get("/no-such-route").status_code == 401  # nothing about the routes leaks without the secret
    assert client.get("/work", headers=service_headers()).json() == {"done": "yes"}
    assert client.get("/health").status_code == 200  # open: the launcher and container health checks call it


def test_the_public_gateway_does_not_ask_for_the_secret() -> None:
    assert _app(public=True).get("/work").json() == {"done": "yes"}


def test_the_secret_file_is_created_once_with_mode_0600(tmp_path: Path) -> None:
    first = ensure_secret_file(tmp_path / "data")
    path = tmp_path / "data" / "service_secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first) >= 40
    assert ensure_secret_file(tmp_path / "data") == first
    assert list(path.parent.iterdir()) == [path]  # no temporary file left behind


def test_concurrent_first_starts_agree_on_one_secret(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    with context.Pool(4) as pool:
        secrets = pool.map(ensure_secret_file, [tmp_path] * 8)
    assert len(set(secrets)) == 1
    assert (tmp_path / "service_secret").read_text().strip() == secrets[0]


def test_an_empty_secret_file_is_refused_with_its_path(tmp_path: Path) -> None:
    (tmp_path / "service_secret").write_text("")
    with pytest.raises(RuntimeError, match="service_secret is empty"):
        ensure_secret_file(tmp_path)
