"""Shared work is bounded and fair, through real service processes (gateway and executor) over HTTP:

- full runs run concurrently up to ``REFINERY_EXECUTOR_RUN_CONCURRENCY`` and fairly across projects: project A's
  queued runs never hold back project B's, which starts at once; queued runs show their (decreasing) position in the
  job API and the websocket events;
- a project's run time limit is PATCH-able within the installation's maximum and enforced;
- interactive calls beyond ``REFINERY_EXECUTOR_INTERACTIVE_POOL`` get 429 with ``Retry-After``, never a 5xx.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from websockets.sync.client import connect

from shared_model.db import session_scope
from shared_model.models import Job, JobState
from shared_model.settings import get_settings

from ..conftest import ADMIN_PASSWORD
from ..executor.factory import add_records, add_task
from ..service_processes import ServicePool

CONCURRENCY = 2
POOL = 2
MAX_LIMIT_S = 600
SLOW = "import time\n\ndef lf(record):\n    time.sleep({seconds})\n    return None\n"


@pytest.fixture(scope="module")
def gateway(services: ServicePool, tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    """A logged-in client of a real gateway process whose executor process runs 2 full runs and 2 interactive calls
    at once (the session's own executor, if one was started, is stopped: it would claim the same jobs)."""
    session_executor = services.running.pop("executor", None)
    if session_executor is not None:
        session_executor.stop()
    saved = {key: os.environ.get(key) for key in ("REFINERY_EXECUTOR_URL", "REFINERY_GATEWAY_URL")}
    pool = ServicePool(
        tmp_path_factory.mktemp("scheduling-logs"),
        extra_env={
            "REFINERY_EXECUTOR_RUN_CONCURRENCY": str(CONCURRENCY),
            "REFINERY_EXECUTOR_INTERACTIVE_POOL": str(POOL),
            "REFINERY_RUN_TIME_LIMIT_MAX_S": str(MAX_LIMIT_S),
        },
    )
    try:
        pool.start("executor")
        service = pool.start("gateway")
        with httpx.Client(base_url=service.url, timeout=120) as client:
            response = client.post("/api/v1/auth/login", json={"email": "admin@localhost", "password": ADMIN_PASSWORD})
            assert response.status_code == 200, response.text
            yield client
    finally:
        pool.stop_all()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        get_settings.cache_clear()


def new_project(client: httpx.Client, name: str, records: int = 8) -> tuple[str, str]:
    """A project with ``records`` records and a classification task; (project id, task id)."""
    response = client.post("/api/v1/projects", json={"name": name})
    assert response.status_code == 201, response.text
    project_id = response.json()["id"]
    data = add_records(uuid.UUID(project_id), [f"text {i}" for i in range(records)])
    return project_id, str(add_task(data, "kind", ["yes", "no"]))


def heuristic(client: httpx.Client, project_id: str, task_id: str, name: str, code: str) -> str:
    body = {"labeling_task_id": task_id, "name": name, "source_code": code}
    response = client.post(f"/api/v1/projects/{project_id}/heuristics", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def start_run(client: httpx.Client, project_id: str, heuristic_id: str) -> dict[str, Any]:
    response = client.post(f"/api/v1/projects/{project_id}/heuristics/{heuristic_id}/runs")
    assert response.status_code == 202, response.text
    job: dict[str, Any] = response.json()["job"]
    return job


def job_of(client: httpx.Client, job_id: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/jobs/{job_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def wait_done(client: httpx.Client, job_id: str, timeout_s: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        job = job_of(client, job_id)
        if job["state"] in ("done", "failed", "cancelled"):
            return job
        assert time.monotonic() < deadline, f"job {job_id} still {job['state']} after {timeout_s} s"
        time.sleep(0.2)


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def running_executor_jobs() -> int:
    with session_scope() as session:
        count = session.scalar(
            select(func.count()).select_from(Job).where(Job.owner_service == "executor", Job.state == JobState.RUNNING)
        )
        return int(count or 0)


def test_runs_are_concurrent_bounded_and_fair_across_projects(gateway: httpx.Client) -> None:
    a, a_task = new_project(gateway, "A: many long runs")
    b, b_task = new_project(gateway, "B: one short run")
    c, c_task = new_project(gateway, "C: one short run")
    a_heuristics = [heuristic(gateway, a, a_task, f"slow {i}", SLOW.format(seconds=0.5)) for i in range(3)]
    b_heuristic = heuristic(gateway, b, b_task, "quick", SLOW.format(seconds=0.01))
    c_heuristic = heuristic(gateway, c, c_task, "quick", SLOW.format(seconds=0.01))

    events: list[dict[str, Any]] = []
    cookie = "; ".join(f"{name}={value}" for name, value in gateway.cookies.items())
    ws_url = str(gateway.base_url).replace("http://", "ws://") + "/api/v1/ws"
    stop = threading.Event()
    most_running = 0
    positions: dict[str, list[int]] = {}

    def listen() -> None:
        with connect(ws_url, additional_headers={"Cookie": cookie}) as socket:
            while not stop.is_set():
                try:
                    message = json.loads(socket.recv(timeout=0.5))
                    if message.get("type") == "job":
                        events.append(message["job"])
                except TimeoutError:
                    continue

    def watch() -> None:
        nonlocal most_running
        while not stop.is_set():
            most_running = max(most_running, running_executor_jobs())
            for project in (a, b, c):
                for job in gateway.get(f"/api/v1/projects/{project}/jobs").json():
                    if job["state"] == "queued":
                        assert job["queue_position"] is not None and job["queue_position"] >= 1
                        positions.setdefault(job["id"], []).append(job["queue_position"])
            time.sleep(0.1)

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    time.sleep(0.5)
    a_jobs = [start_run(gateway, a, h) for h in a_heuristics]
    time.sleep(1.0)  # A's first run has started; its other two wait (one project never takes every place)
    b_job = start_run(gateway, b, b_heuristic)
    c_job = start_run(gateway, c, c_heuristic)
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        finished = {job["id"]: wait_done(gateway, job["id"]) for job in [*a_jobs, b_job, c_job]}
    finally:
        stop.set()
        watcher.join(10)
        listener.join(10)

    assert all(job["state"] == "done" for job in finished.values()), finished
    b_done, a_first = finished[b_job["id"]], finished[a_jobs[0]["id"]]
    # B started at once, while A's first long run was still running and A's other runs waited.
    assert (at(b_done["started_at"]) - at(b_done["created_at"])).total_seconds() < 3.0
    assert at(b_done["started_at"]) < at(a_first["finished_at"])
    assert at(b_done["started_at"]) < at(finished[a_jobs[2]["id"]]["started_at"])
    assert 1 < most_running <= CONCURRENCY
    # A's last run waited: its reported position went down to 1, never up.
    last = positions.get(a_jobs[2]["id"], [])
    assert last and last[-1] == 1 and max(last) > 1, positions
    assert all(later <= earlier for earlier, later in zip(last, last[1:], strict=False)), last
    # The websocket relayed the same positions.
    relayed = [e["queue_position"] for e in events if e.get("id") == a_jobs[2]["id"] and e.get("state") == "queued"]
    assert relayed and min(relayed) == 1 and max(relayed) > 1, relayed


def test_the_run_time_limit_is_set_per_project_within_the_maximum_and_enforced(gateway: httpx.Client) -> None:
    project, task = new_project(gateway, "D: time limit", records=3)
    # The installation default (1 h) is capped by the installation's maximum, here 600 s.
    assert gateway.get(f"/api/v1/projects/{project}").json()["run_time_limit_s"] == MAX_LIMIT_S
    refused = gateway.patch(f"/api/v1/projects/{project}", json={"run_time_limit_s": MAX_LIMIT_S + 1})
    assert refused.status_code == 422, refused.text
    assert str(MAX_LIMIT_S) in refused.json()["detail"] and "run_time_limit_s" in refused.json()["detail"]
    assert gateway.patch(f"/api/v1/projects/{project}", json={"run_time_limit_s": 0}).status_code == 422
    response = gateway.patch(f"/api/v1/projects/{project}", json={"run_time_limit_s": 3})
    assert response.status_code == 200 and response.json()["run_time_limit_s"] == 3
    sleeper = heuristic(gateway, project, task, "sleeps", SLOW.format(seconds=120))
    started = time.monotonic()
    job = wait_done(gateway, start_run(gateway, project, sleeper)["id"], timeout_s=60)
    assert job["state"] == "failed"
    assert "time limit of 3 s" in job["error"], job["error"]
    assert time.monotonic() - started < 30
    runs = gateway.get(f"/api/v1/projects/{project}/heuristics/{sleeper}/runs").json()
    assert runs[0]["state"] == "FAILED" and "time limit of 3 s" in runs[0]["error"]
    # An attribute calculation of the project is held to the same limit.
    url = f"/api/v1/projects/{project}/attributes/calculated"
    code = "import time\n\ndef ac(record):\n    time.sleep(120)\n    return 1\n"
    created = gateway.post(url, json={"name": "slow_value", "data_type": "INTEGER", "source_code": code})
    assert created.status_code == 201, created.text
    started_run = gateway.post(f"{url}/{created.json()['id']}/run")
    assert started_run.status_code == 202, started_run.text
    job = wait_done(gateway, started_run.json()["job"]["id"], timeout_s=60)
    assert job["state"] == "failed" and "time limit of 3 s" in job["error"], job
    attribute = gateway.get(f"{url}/{created.json()['id']}").json()
    assert attribute["state"] == "FAILED" and any("time limit of 3 s" in line for line in attribute["logs"])


def test_interactive_calls_beyond_the_pool_get_429_with_retry_after(gateway: httpx.Client) -> None:
    project, task = new_project(gateway, "E: samples", records=10)
    slow = heuristic(gateway, project, task, "slow sample", SLOW.format(seconds=0.3))
    url = f"/api/v1/projects/{project}/heuristics/{slow}/sample"
    barrier = threading.Barrier(12)

    def call(_: int) -> httpx.Response:
        barrier.wait()
        return gateway.post(url, json={"sample_size": 10})

    with ThreadPoolExecutor(12) as threads:
        responses = list(threads.map(call, range(12)))
    statuses = sorted(r.status_code for r in responses)
    assert set(statuses) <= {200, 429}, [(r.status_code, r.text[:300]) for r in responses]
    ok = [r for r in responses if r.status_code == 200]
    busy = [r for r in responses if r.status_code == 429]
    assert 1 <= len(ok) <= POOL * 3 and busy, statuses
    assert all(r.json()["error"] is None and len(r.json()["records"]) == 10 for r in ok)
    for response in busy:
        assert int(response.headers["Retry-After"]) >= 1
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "interactive sandboxes" in response.json()["detail"]
