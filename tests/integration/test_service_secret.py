"""A real internal service process refuses calls without the service secret or with a wrong one."""

from __future__ import annotations

import uuid

import httpx
import pytest

from shared_model.service import SERVICE_SECRET_HEADER

from ..service_processes import ServicePool

pytestmark = pytest.mark.integration


def test_a_service_process_requires_the_secret(services: ServicePool) -> None:
    service = services.start("neural_search")
    path = f"{service.url}/embeddings/{uuid.uuid4()}"
    missing = httpx.get(path, timeout=10)
    assert missing.status_code == 401, missing.text
    assert missing.headers["content-type"] == "application/problem+json"
    assert SERVICE_SECRET_HEADER in missing.json()["detail"]
    wrong = httpx.get(path, headers={SERVICE_SECRET_HEADER: "guessed"}, timeout=10)
    assert wrong.status_code == 403, wrong.text
    allowed = httpx.get(path, headers=service.headers, timeout=10)
    assert allowed.status_code == 404, allowed.text  # through the check: the route itself answers
    assert httpx.get(f"{service.url}/health", timeout=10).status_code == 200
