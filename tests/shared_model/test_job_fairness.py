"""The job queue is fair across projects, reports queue positions, runs N jobs at once and enforces time limits."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

from shared_model import jobs
from shared_model.db import session_scope
from shared_model.models import Job, JobState, Project


def _project(name: str) -> uuid.UUID:
    with session_scope() as session:
        project = Project(name=name)
        session.add(project)
        session.flush()
        return project.id


def _enqueue(project_id: uuid.UUID, kind: str = "work", owner: str = "svc") -> uuid.UUID:
    with session_scope() as session:
        return jobs.enqueue(session, kind=kind, owner_service=owner, project_id=project_id).id


def _positions() -> dict[uuid.UUID, int]:
    with session_scope() as session:
        return jobs.queue_positions(session, "svc")


def _job(job_id: uuid.UUID) -> Job:
    with session_scope() as session:
        job = session.get(Job, job_id)
        assert job is not None
        session.expunge(job)
        return job


def test_claims_take_turns_across_projects(clean_db: str) -> None:
    a, b = _project("A"), _project("B")
    a_jobs = [_enqueue(a) for _ in range(3)]
    b_job = _enqueue(b)  # queued after all of A's
    claimed = [jobs.claim("svc", ["work"], "w") for _ in range(4)]
    assert [job.id if job else None for job in claimed] == [a_jobs[0], b_job, a_jobs[1], a_jobs[2]]


def test_a_project_with_a_running_job_waits_for_one_without(clean_db: str) -> None:
    a, b = _project("A"), _project("B")
    first = _enqueue(a)
    assert (claimed := jobs.claim("svc", ["work"], "w")) is not None and claimed.id == first
    a_next = _enqueue(a)
    b_job = _enqueue(b)  # younger than A's queued job, but A has one running already
    assert _positions() == {b_job: 1, a_next: 2}
    assert (claimed := jobs.claim("svc", ["work"], "w")) is not None and claimed.id == b_job


def test_a_project_at_its_cap_leaves_the_free_place_to_another(clean_db: str) -> None:
    a, b = _project("A"), _project("B")
    a_jobs = [_enqueue(a) for _ in range(3)]
    assert (claimed := jobs.claim("svc", ["work"], "w", per_project=1)) is not None and claimed.id == a_jobs[0]
    assert jobs.claim("svc", ["work"], "w", per_project=1) is None  # A runs one already; nobody else waits
    b_job = _enqueue(b)
    assert (claimed := jobs.claim("svc", ["work"], "w", per_project=1)) is not None and claimed.id == b_job
    assert _positions() == {a_jobs[1]: 1, a_jobs[2]: 2}


def test_queue_positions_follow_the_claim_order_and_decrease(clean_db: str) -> None:
    a, b = _project("A"), _project("B")
    a_jobs = [_enqueue(a) for _ in range(3)]
    b_job = _enqueue(b)
    assert _positions() == {a_jobs[0]: 1, b_job: 2, a_jobs[1]: 3, a_jobs[2]: 4}
    seen: list[dict[uuid.UUID, int]] = []
    while jobs.claim("svc", ["work"], "w") is not None:
        seen.append(_positions())
    assert seen[0] == {b_job: 1, a_jobs[1]: 2, a_jobs[2]: 3}
    last = seen[0][a_jobs[2]]
    for positions in seen[1:]:
        if a_jobs[2] in positions:
            assert positions[a_jobs[2]] < last
            last = positions[a_jobs[2]]
    assert seen[-1] == {}


def test_the_queued_event_carries_the_position(clean_db: str) -> None:
    a = _project("A")
    _enqueue(a)
    with session_scope() as session:
        job = jobs.enqueue(session, kind="work", owner_service="svc", project_id=a)
        assert jobs.job_event(job, jobs.queue_position(session, job))["queue_position"] == 2


def test_worker_runs_up_to_its_concurrency_at_once(clean_db: str) -> None:
    a, b = _project("A"), _project("B")
    running = 0
    most = 0
    lock = threading.Lock()

    def handler(ctx: jobs.JobContext) -> dict[str, Any]:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.6)
        with lock:
            running -= 1
        return {}

    created = [_enqueue(a if i % 2 else b, owner="conc") for i in range(6)]
    worker = jobs.JobWorker("conc", {"work": handler}, poll_s=0.1, concurrency=2)
    worker.start()
    try:
        for job_id in created:
            assert jobs.wait_for_job(job_id, timeout_s=30).state == JobState.DONE
    finally:
        worker.stop()
    assert most == 2


def test_a_job_past_its_time_limit_fails_with_the_reason(clean_db: str) -> None:
    a = _project("A")

    def handler(ctx: jobs.JobContext) -> dict[str, Any]:
        while True:
            ctx.check_cancelled()
            time.sleep(0.05)

    job_id = _enqueue(a, owner="slow")
    worker = jobs.JobWorker("slow", {"work": handler}, poll_s=0.1, time_limit=lambda job: 0.5)
    worker.start()
    try:
        job = jobs.wait_for_job(job_id, timeout_s=30)
    finally:
        worker.stop()
    assert job.state == JobState.FAILED
    assert job.error is not None and "time limit of 0.5 s" in job.error
