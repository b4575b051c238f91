"""``/api/docs`` (Swagger UI) and ``/api/redoc`` load every asset from the gateway itself: nothing from a CDN."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

ASSET = re.compile(r"""(?:src|href|spec-url)\s*=\s*["']([^"']+)["']|(?:url|openapi_url)\s*:\s*["']([^"']+)["']""")


def _references(html: str) -> list[str]:
    return [a or b for a, b in ASSET.findall(html)]


@pytest.mark.parametrize(("page", "expected"), [("/api/docs", "swagger-ui-bundle.js"), ("/api/redoc", "redoc.standalone.js")])
def test_docs_page_serves_its_assets_itself(app_client: TestClient, page: str, expected: str) -> None:
    response = app_client.get(page)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert "http://" not in html and "https://" not in html, f"{page} references another origin: {html}"
    references = _references(html)
    assert any(ref.endswith(expected) for ref in references), references
    assert "/api/openapi.json" in references
    for ref in references:
        assert not urlsplit(ref).netloc and ref.startswith("/"), f"{page} references {ref!r}, not a same-origin path"
        asset = app_client.get(ref)
        assert asset.status_code == 200, f"{ref} answered {asset.status_code}"
        assert asset.content, f"{ref} is empty"


def test_swagger_ui_assets_are_the_real_bundle(app_client: TestClient) -> None:
    script = app_client.get("/api/docs-assets/swagger-ui-bundle.js")
    assert script.status_code == 200 and len(script.content) > 100_000
    assert "javascript" in script.headers["content-type"]
    assert app_client.get("/api/docs-assets/swagger-ui.css").headers["content-type"].startswith("text/css")
    assert app_client.get("/api/docs-assets/redoc.standalone.js").status_code == 200
    assert app_client.get("/api/docs/oauth2-redirect").status_code == 200
