"""The durable job queue: claiming, progress with NOTIFY, failure, cancellation and stale-job reaping."""

from __future__ import annotations

import json
import select
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from shared_model import jobs
from shared_model.db import raw_connection, session_scope
from shared_model.models import Job, JobState


def _enqueue(kind: str = "work", owner: str = "svc", **parameters: Any) -> Job:
    with session_scope() as session:
        job = jobs.enqueue(session, kind=kind, owner_service=owner, parameters=parameters)
        session.expunge(job)
    return job


def _get(job_id: Any) -> Job:
    with session_scope() as session:
        job = session.get(Job, job_id)
        assert job is not None
        session.expunge(job)
        return job


def test_concurrent_claims_never_share_a_job(clean_db: str) -> None:
    created = {_enqueue().id for _ in range(40)}
    claimed: list[Any] = []
    lock = threading.Lock()

    def claimer(name: str) -> None:
        while (job := jobs.claim("svc", ["work"], name)) is not None:
            with lock:
                claimed.append(job.id)

    threads = [threading.Thread(target=claimer, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claimed) == sorted(created)
    assert all(_get(job_id).state == JobState.RUNNING and _get(job_id).attempts == 1 for job_id in created)


def test_claim_respects_owner_and_kind(clean_db: str) -> None:
    _enqueue(kind="other")
    _enqueue(owner="elsewhere")
    assert jobs.claim("svc", ["work"], "w") is None


def test_progress_is_published_with_notify(clean_db: str) -> None:
    conn = raw_connection()
    dbapi = conn.dbapi_connection
    dbapi.set_isolation_level(0)
    with dbapi.cursor() as cursor:
        cursor.execute(f"LISTEN {jobs.PROGRESS_CHANNEL}")
    try:
        job = _enqueue()
        claimed = jobs.claim("svc", ["work"], "w")
        assert claimed is not None
        jobs.JobContext(claimed).progress(0.5, "half way", force=True)
        events: list[dict[str, Any]] = []
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not any(e["progress"] == 0.5 for e in events):
            select.select([dbapi], [], [], 0.5)
            dbapi.poll()
            while dbapi.notifies:
                events.append(json.loads(dbapi.notifies.pop(0).payload))
        states = [(e["id"], e["state"], e["progress"], e["message"]) for e in events]
        assert (str(job.id), "queued", 0.0, "queued") in states
        assert (str(job.id), "running", 0.5, "half way") in states
    finally:
        conn.invalidate()


def test_worker_runs_handlers_to_final_states(clean_db: str) -> None:
    def ok(ctx: jobs.JobContext) -> dict[str, Any]:
        ctx.progress(0.3, "working", force=True)
        return {"doubled": ctx.parameters["n"] * 2}

    def user_error(ctx: jobs.JobContext) -> None:
        raise jobs.JobFailed("row 3, column 'x': not a number")

    def crash(ctx: jobs.JobContext) -> None:
        raise ZeroDivisionError("division by zero")

    worker = jobs.JobWorker("svc", {"ok": ok, "user_error": user_error, "crash": crash}, poll_s=0.1)
    a, b, c = _enqueue("ok", n=21), _enqueue("user_error"), _enqueue("crash")
    worker.start()
    try:
        done = jobs.wait_for_job(a.id, 20)
        failed = jobs.wait_for_job(b.id, 20)
        crashed = jobs.wait_for_job(c.id, 20)
    finally:
        worker.stop()
    assert (done.state, done.result, done.progress) == (JobState.DONE, {"doubled": 42}, 1.0)
    assert failed.state == JobState.FAILED and failed.error == "row 3, column 'x': not a number"
    assert crashed.state == JobState.FAILED and crashed.error == "ZeroDivisionError: division by zero"
    assert done.finished_at is not None and done.started_at is not None


def test_cancel_queued_and_running_jobs(clean_db: str) -> None:
    queued = _enqueue()
    with session_scope() as session:
        job = session.get(Job, queued.id)
        assert job is not None
        jobs.request_cancel(session, job)
    assert _get(queued.id).state == JobState.CANCELLED

    started = threading.Event()

    def slow(ctx: jobs.JobContext) -> None:
        started.set()
        for _ in range(200):
            ctx.progress(0.1, force=True)
            time.sleep(0.05)

    running = _enqueue("slow")
    worker = jobs.JobWorker("svc", {"slow": slow}, poll_s=0.1)
    worker.start()
    try:
        assert started.wait(10)
        with session_scope() as session:
            job = session.get(Job, running.id)
            assert job is not None
            jobs.request_cancel(session, job)
        assert jobs.wait_for_job(running.id, 10).state == JobState.CANCELLED
    finally:
        worker.stop()


@pytest.mark.parametrize(("attempts", "expected"), [(1, JobState.QUEUED), (2, JobState.FAILED)])
def test_stale_jobs_are_requeued_then_failed_with_a_reason(clean_db: str, attempts: int, expected: JobState) -> None:
    job = _enqueue()
    assert jobs.claim("svc", ["work"], "dead-worker") is not None
    with session_scope() as session:
        session.execute(
            update(Job).where(Job.id == job.id).values(attempts=attempts, heartbeat_at=datetime.now(UTC) - timedelta(minutes=10))
        )
    assert jobs.reap_stale("svc") == [job.id]
    reaped = _get(job.id)
    assert reaped.state == expected
    if expected == JobState.FAILED:
        assert reaped.error is not None and "stopped reporting" in reaped.error and "dead-worker" in reaped.error
    else:
        assert "requeued" in reaped.message


def test_fresh_heartbeats_are_not_reaped(clean_db: str) -> None:
    _enqueue()
    assert jobs.claim("svc", ["work"], "w") is not None
    assert jobs.reap_stale("svc") == []


def test_worker_survives_a_job_that_vanishes_mid_run(clean_db: str) -> None:
    from sqlalchemy import delete

    started = threading.Event()
    release = threading.Event()

    def vanishing(ctx: jobs.JobContext) -> None:
        started.set()
        release.wait(10)

    def ok(ctx: jobs.JobContext) -> dict[str, Any]:
        return {"ok": True}

    worker = jobs.JobWorker("svc", {"vanishing": vanishing, "ok": ok}, poll_s=0.1)
    gone = _enqueue("vanishing")
    worker.start()
    try:
        assert started.wait(10)
        with session_scope() as session:  # e.g. its project was deleted, or a test emptied the tables
            session.execute(delete(Job).where(Job.id == gone.id))
        release.set()
        after = _enqueue("ok")
        assert jobs.wait_for_job(after.id, 20).state == JobState.DONE
    finally:
        worker.stop()
