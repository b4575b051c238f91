"""Every internal service starts alone with ``python -m <package>`` and answers ``/health``."""

from __future__ import annotations

import httpx
import pytest

from ..service_processes import ServicePool

INTERNAL = ["tokenizer", "embedder", "weak_supervisor", "neural_search", "executor"]


@pytest.mark.integration
@pytest.mark.parametrize("name", INTERNAL)
def test_service_starts_alone_and_is_healthy(services: ServicePool, name: str) -> None:
    service = services.start(name)
    body = httpx.get(f"{service.url}/health", timeout=5).json()
    assert body["service"] == name
    assert body["database"] == "ok"
    assert body["version"]
