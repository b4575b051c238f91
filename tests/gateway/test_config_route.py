"""The configuration page's data: limits from the settings, the tokenizer's spaCy pipelines and the embedder's
models (over HTTP from the real services), and a clear note when a service cannot be asked."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from shared_model.settings import get_settings


def test_limits_pipelines_and_models(client: TestClient, services: Any) -> None:
    services.start("tokenizer")
    services.start("embedder")
    config = client.get("/api/v1/config")
    assert config.status_code == 200, config.text
    body = config.json()
    limits = {item["name"]: item["value"] for item in body["limits"]}
    assert limits["REFINERY_UPLOAD_MAX_BYTES"] == get_settings().upload_max_bytes
    assert body["spacy_pipelines"]["error"] is None and isinstance(body["spacy_pipelines"]["items"], list)
    assert body["embedding_models"]["error"] is None and "bag-of-words" in body["embedding_models"]["items"]


def test_an_unreachable_service_is_named(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REFINERY_EMBEDDER_URL", "http://127.0.0.1:9")
    get_settings.cache_clear()
    try:
        body = client.get("/api/v1/config").json()
    finally:
        get_settings.cache_clear()
    assert body["embedding_models"]["items"] == [] and "unreachable" in body["embedding_models"]["error"]
