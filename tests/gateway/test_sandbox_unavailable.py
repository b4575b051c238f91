"""Health tells the truth about the sandbox, and the routes that run user code refuse with 503 while there is none.

A real executor process (its own, with ``REFINERY_EXECUTOR_BWRAP_PATH`` pointing at a path this test controls and a
short re-check) and the in-process gateway talking to it over HTTP: first no bubblewrap at all, then a bubblewrap that
cannot create namespaces (a small script failing as bwrap does in an unprivileged container), then the real one.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from shared_model.db import session_scope
from shared_model.jobs import wait_for_job
from shared_model.models import HeuristicRun, Job
from shared_model.settings import get_settings

from ..executor.factory import Data, add_records, add_task
from ..service_processes import ServicePool, ServiceProcess

pytestmark = pytest.mark.integration

NAMESPACE_ERROR = (
    "bwrap: No permissions to creating new namespace, likely because the kernel does not allow non-privileged user namespaces."
)
RECHECK_S = 0.5


@pytest.fixture()
def bwrap_path(tmp_path: Path) -> Path:
    return tmp_path / "bin" / "bwrap"


@pytest.fixture()
def executor(bwrap_path: Path, tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[ServiceProcess]:
    """An executor of its own whose bubblewrap is ``bwrap_path`` (absent at its start); the gateway calls it."""
    monkeypatch.delenv("REFINERY_EXECUTOR_URL", raising=False)  # restored after the test: other tests' executor
    logs = tmp_path / "logs"
    logs.mkdir()
    pool = ServicePool(
        logs,
        extra_env={
            "REFINERY_EXECUTOR_BACKEND": "bwrap",
            "REFINERY_EXECUTOR_BWRAP_PATH": str(bwrap_path),
            "REFINERY_EXECUTOR_SANDBOX_RECHECK_S": str(RECHECK_S),
        },
    )
    try:
        yield pool.start("executor")
    finally:
        pool.stop_all()
        monkeypatch.undo()
        get_settings.cache_clear()


def executor_health(executor: ServiceProcess) -> dict[str, Any]:
    response = httpx.get(f"{executor.url}/health", timeout=30)
    assert response.status_code == 200, response.text  # it runs: degraded, not down
    body: dict[str, Any] = response.json()
    return body


def health_when(executor: ServiceProcess, condition: Callable[[dict[str, Any]], bool], what: str) -> dict[str, Any]:
    """The executor's health once ``condition`` holds for it (it re-probes every RECHECK_S)."""
    deadline = time.monotonic() + 30
    while True:
        body = executor_health(executor)
        if condition(body):
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not show in the executor's health within 30 s: {body}")
        time.sleep(RECHECK_S / 2)


def count_runs(data: Data) -> tuple[int, int]:
    with session_scope() as session:
        runs = session.scalar(select(func.count()).select_from(HeuristicRun).where(HeuristicRun.project_id == data.project_id))
        jobs = session.scalar(select(func.count()).select_from(Job).where(Job.project_id == data.project_id))
        return int(runs or 0), int(jobs or 0)


def assert_refused(response: httpx.Response, reason: str) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == 503
    assert reason in body["detail"], body["detail"]


def every_sandbox_route(client: TestClient, data: Data, heuristic_id: str, attribute_id: str) -> list[httpx.Response]:
    project = f"/api/v1/projects/{data.project_id}"
    code = "def ac(record):\n    return 1\n"
    return [
        client.post(f"{project}/heuristics/{heuristic_id}/sample", json={}),
        client.post(f"{project}/heuristics/{heuristic_id}/runs"),
        client.post(f"{project}/heuristics/runs", json={"heuristic_ids": [heuristic_id]}),
        client.post(f"{project}/attributes/calculated/sample", json={"data_type": "INTEGER", "source_code": code}),
        client.post(f"{project}/attributes/calculated/{attribute_id}/sample", json={}),
        client.post(f"{project}/attributes/calculated/{attribute_id}/run"),
        client.post(f"{project}/records/{data.record_ids[0]}/ide", json={"code": "print(1)"}),
    ]


def test_health_and_routes_follow_the_sandbox(
    client: TestClient, project: dict[str, Any], executor: ServiceProcess, bwrap_path: Path
) -> None:
    data = add_records(uuid.UUID(project["id"]), ["Hello World", "second"])
    task = add_task(data, "sentiment", ["positive", "negative"])
    created = client.post(
        f"/api/v1/projects/{data.project_id}/heuristics",
        json={"labeling_task_id": str(task), "name": "lf", "source_code": "def lf(record):\n    return 'positive'\n"},
    )
    assert created.status_code == 201, created.text
    attribute = client.post(
        f"/api/v1/projects/{data.project_id}/attributes/calculated",
        json={"name": "one", "data_type": "INTEGER", "source_code": "def ac(record):\n    return 1\n"},
    )
    assert attribute.status_code == 201, attribute.text
    heuristic_id, attribute_id = created.json()["id"], attribute.json()["id"]

    # 1. No bubblewrap at the configured path: the probe at start says so.
    absent = f"bubblewrap not found at {bwrap_path}"
    body = executor_health(executor)
    assert body["status"] == "degraded" and body["database"] == "ok"
    assert body["sandbox"]["status"] == "unavailable" and absent in body["sandbox"]["reason"]
    assert absent in body["reason"]
    health = client.get("/api/v1/health")
    assert health.status_code == 503
    assert health.json()["services"]["executor"]["status"] == "degraded"
    assert absent in health.json()["services"]["executor"]["reason"]
    for response in every_sandbox_route(client, data, heuristic_id, attribute_id):
        assert_refused(response, absent)
    assert count_runs(data) == (0, 0), "a refused run left a run or a job behind"
    assert client.get(f"/api/v1/projects/{data.project_id}/attributes/calculated/{attribute_id}").json()["state"] == "INITIAL"

    # 2. A bubblewrap that cannot create namespaces (as in an unprivileged container).
    bwrap_path.parent.mkdir(parents=True, exist_ok=True)
    bwrap_path.write_text(f'#!/bin/sh\necho "{NAMESPACE_ERROR}" >&2\nexit 1\n')
    bwrap_path.chmod(0o755)
    cannot = f"bubblewrap at {bwrap_path} cannot create the sandbox (exit 1): {NAMESPACE_ERROR}"
    body = health_when(executor, lambda b: cannot in b["sandbox"].get("reason", ""), "the re-check")
    assert body["status"] == "degraded"
    assert cannot in client.get("/api/v1/health").json()["services"]["executor"]["reason"]
    for response in every_sandbox_route(client, data, heuristic_id, attribute_id):
        assert_refused(response, cannot)
    assert count_runs(data) == (0, 0)

    # 3. The real bubblewrap: healthy again, and user code runs.
    real = shutil.which("bwrap")
    assert real, "bubblewrap is not installed (tools/system-packages test installs it)"
    bwrap_path.unlink()
    os.symlink(real, bwrap_path)
    body = health_when(executor, lambda b: b["sandbox"]["status"] == "ok", "the recovery")
    assert body["status"] == "ok" and body["sandbox"]["backend"] == "bwrap" and "reason" not in body
    assert client.get("/api/v1/health").json()["services"]["executor"]["status"] == "ok"
    sample = client.post(f"/api/v1/projects/{data.project_id}/heuristics/{heuristic_id}/sample", json={})
    assert sample.status_code == 200, sample.text
    assert [r["result"] for r in sample.json()["records"]] != []
    started = client.post(f"/api/v1/projects/{data.project_id}/heuristics/{heuristic_id}/runs")
    assert started.status_code == 202, started.text
    job = wait_for_job(uuid.UUID(started.json()["job"]["id"]), timeout_s=120)  # nothing left running after the test
    assert str(job.state) == "done", job.error
