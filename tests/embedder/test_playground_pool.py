"""The zero-shot playground answers a bounded number of calls at once: beyond the pool, 429 with Retry-After."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from embedder.routers import api
from shared_model.service.errors import install_problem_handlers
from shared_model.service.pool import InteractivePool


def test_playground_calls_beyond_the_pool_get_429(monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()
    entered = threading.Event()

    def slow_classify(text: str, labels: Any, **_: Any) -> dict[str, Any]:
        entered.set()
        release.wait(20)
        return {"text": text, "labels": [label.name for label in labels]}

    monkeypatch.setattr(api, "classify_text", slow_classify)
    monkeypatch.setattr(api, "_PLAYGROUND", InteractivePool(1, "REFINERY_EMBEDDER_INTERACTIVE_POOL", "playground places"))
    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(api.router)
    body = {"text": "hello", "labels": [{"name": "a"}, {"name": "b"}]}
    with TestClient(app) as client, ThreadPoolExecutor(1) as thread:
        first = thread.submit(client.post, "/zero_shot/text", json=body)
        assert entered.wait(10)
        refused = [client.post("/zero_shot/text", json=body) for _ in range(3)]
        release.set()
        assert first.result(20).status_code == 200
    for response in refused:
        assert response.status_code == 429, response.text
        assert int(response.headers["Retry-After"]) >= 1
        assert "REFINERY_EMBEDDER_INTERACTIVE_POOL" in response.json()["detail"]
