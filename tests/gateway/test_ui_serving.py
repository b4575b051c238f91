"""The gateway serves the web UI at ``/``: built files, an SPA fallback to ``index.html``, or a how-to-build page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient


@pytest.fixture()
def built_ui(tmp_path: Path) -> Path:
    """A minimal built UI: index.html and one asset."""
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><div id=root>refinery app shell</div>")
    (dist / "assets" / "app.js").write_text("console.log('refinery')")
    return dist


def _client(dist: Path) -> Iterator[TestClient]:
    from gateway.app import create_app

    with TestClient(create_app(ui_dist=dist)) as client:
        yield client


@pytest.fixture()
def ui_client(clean_db: str, built_ui: Path) -> Iterator[TestClient]:
    yield from _client(built_ui)


@pytest.fixture()
def unbuilt_client(clean_db: str, tmp_path: Path) -> Iterator[TestClient]:
    yield from _client(tmp_path / "missing-dist")


@pytest.mark.parametrize("path", ["/", "/projects", "/projects/abc/labeling?pos=3", "/settings/tokens"])
def test_ui_paths_get_the_app(ui_client: TestClient, path: str) -> None:
    response = ui_client.get(path)
    assert response.status_code == 200
    assert "refinery app shell" in response.text
    assert response.headers["content-type"].startswith("text/html")


def test_assets_are_served_and_a_missing_one_is_a_404(ui_client: TestClient) -> None:
    assert ui_client.get("/assets/app.js").text == "console.log('refinery')"
    missing = ui_client.get("/assets/gone.js")
    assert missing.status_code == 404
    assert "refinery app shell" not in missing.text


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_unknown_api_paths_stay_json_problems(ui_client: TestClient, method: str) -> None:
    response = ui_client.request(method, "/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "/api/v1/no-such-thing" in response.json()["detail"]


def test_the_api_still_answers_beside_the_ui(ui_client: TestClient) -> None:
    assert ui_client.get("/api/v1/health").headers["content-type"].startswith("application/json")
    assert ui_client.get("/api/openapi.json").json()["info"]["title"]


def test_without_a_build_the_page_says_how_to_build_it(unbuilt_client: TestClient) -> None:
    response = unbuilt_client.get("/projects")
    assert response.status_code == 503
    assert "npm ci &amp;&amp; npm run build" in response.text
    assert "./start" in response.text
    api = unbuilt_client.get("/api/v1/nothing-here")
    assert api.status_code == 404
    assert api.headers["content-type"].startswith("application/problem+json")
