"""The durable job queue on the ``job`` table.

A job is enqueued by one service (usually the gateway) for an owning service, which claims it with
``SELECT … FOR UPDATE SKIP LOCKED``, beats while it works and reports progress; each change is published with
``NOTIFY`` on :data:`PROGRESS_CHANNEL` so the gateway can relay it to browsers. A job whose service stopped beating
is put back in the queue or failed with a reason — never left running.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from .db import new_session, raw_connection, session_scope
from .models import Job, JobState
from .settings import get_settings

PROGRESS_CHANNEL = "refinery_job_progress"
QUEUED_CHANNEL = "refinery_job_queued"
FINAL_STATES = (JobState.DONE, JobState.FAILED, JobState.CANCELLED)

log = logging.getLogger("shared_model.jobs")


class JobCancelled(Exception):
    """Raised inside a job handler when the job's cancellation was requested."""


class JobFailed(Exception):
    """Raised by a handler to fail its job with a message meant for the user (no traceback)."""


def job_event(job: Job) -> dict[str, Any]:
    """The JSON-able view of a job published on NOTIFY and returned by the API."""
    return {
        "id": str(job.id),
        "kind": job.kind,
        "project_id": str(job.project_id) if job.project_id else None,
        "owner_service": job.owner_service,
        "state": str(job.state),
        "progress": round(job.progress, 4),
        "message": job.message,
        "error": job.error,
        "result": job.result,
    }


def _publish(session: Session, job: Job) -> None:
    payload = json.dumps(job_event(job))
    if len(payload) > 7000:  # NOTIFY payloads are limited to 8000 bytes
        event = job_event(job)
        event["result"] = {"truncated": True}
        event["error"] = (job.error or "")[:2000] or None
        payload = json.dumps(event)
    session.execute(text("SELECT pg_notify(:channel, :payload)"), {"channel": PROGRESS_CHANNEL, "payload": payload})


def enqueue(
    session: Session,
    *,
    kind: str,
    owner_service: str,
    project_id: uuid.UUID | None = None,
    parameters: dict[str, Any] | None = None,
    created_by: uuid.UUID | None = None,
) -> Job:
    """Add a queued job in the caller's transaction; it becomes visible (and wakes workers) on commit."""
    job = Job(
        id=uuid.uuid4(),
        kind=kind,
        owner_service=owner_service,
        project_id=project_id,
        parameters=parameters or {},
        state=JobState.QUEUED,
        progress=0.0,
        message="queued",
        created_by=created_by,
    )
    session.add(job)
    session.flush()
    session.execute(text("SELECT pg_notify(:c, :p)"), {"c": QUEUED_CHANNEL, "p": owner_service})
    _publish(session, job)
    return job


def claim(owner_service: str, kinds: Iterable[str], worker: str) -> Job | None:
    """Claim the oldest queued job of ``kinds`` for ``owner_service``, marking it running; None if there is none."""
    with session_scope() as session:
        job = session.scalars(
            select(Job)
            .where(Job.owner_service == owner_service, Job.state == JobState.QUEUED, Job.kind.in_(list(kinds)))
            .order_by(Job.created_at)
            .limit(1)
            .with_for_update(skip_locked=True)
        ).first()
        if job is None:
            return None
        now = datetime.now(UTC)
        job.state = JobState.RUNNING
        job.attempts += 1
        job.worker = worker
        job.heartbeat_at = now
        job.started_at = job.started_at or now
        job.message = "running"
        session.flush()
        _publish(session, job)
        session.expunge(job)
        return job


def update_job(job_id: uuid.UUID, **values: Any) -> Job:
    """Set columns of a job, publish the change and return the job."""
    with session_scope() as session:
        job = session.get(Job, job_id, with_for_update=True)
        if job is None:
            raise LookupError(f"job {job_id} does not exist")
        for key, value in values.items():
            if isinstance(value, str):  # an error quoting bad input must not fail the bookkeeping (no NUL in text)
                value = value.replace("\x00", "\\x00")
            setattr(job, key, value)
        if values.get("state") in FINAL_STATES:
            job.finished_at = datetime.now(UTC)
        session.flush()
        _publish(session, job)
        session.expunge(job)
        return job


def request_cancel(session: Session, job: Job) -> None:
    """Ask for a job's cancellation: a queued job is cancelled at once, a running one at its next check."""
    if job.state == JobState.QUEUED:
        job.state = JobState.CANCELLED
        job.message = "cancelled before it started"
        job.finished_at = datetime.now(UTC)
    elif job.state == JobState.RUNNING:
        job.cancel_requested = True
        job.message = "cancellation requested"
    session.flush()
    _publish(session, job)


def reap_stale(owner_service: str | None = None) -> list[uuid.UUID]:
    """Requeue (or fail, after ``job_max_attempts``) running jobs whose heartbeat is older than ``job_stale_after_s``."""
    settings = get_settings()
    cutoff = datetime.now(UTC) - timedelta(seconds=settings.job_stale_after_s)
    reaped: list[uuid.UUID] = []
    with session_scope() as session:
        query = select(Job).where(Job.state == JobState.RUNNING, Job.heartbeat_at < cutoff).with_for_update(skip_locked=True)
        if owner_service:
            query = query.where(Job.owner_service == owner_service)
        for job in session.scalars(query):
            silent = (
                f"the {job.owner_service} worker {job.worker} stopped reporting (last heartbeat {job.heartbeat_at:%H:%M:%S} UTC)"
            )
            if job.attempts < settings.job_max_attempts and not job.cancel_requested:
                job.state = JobState.QUEUED
                job.message = f"requeued: {silent}"
            else:
                job.state = JobState.FAILED
                job.error = f"{silent}; gave up after {job.attempts} attempt(s)"
                job.message = "failed"
                job.finished_at = datetime.now(UTC)
            _publish(session, job)
            reaped.append(job.id)
    for job_id in reaped:
        log.warning("reaped stale job", extra={"job_id": str(job_id)})
    return reaped


@dataclass
class JobContext:
    """What a running handler gets: its job, progress reporting and cancellation checks."""

    job: Job
    min_interval_s: float = 0.25
    _last_report: float = field(default=0.0, init=False)

    @property
    def parameters(self) -> dict[str, Any]:
        return self.job.parameters

    def progress(self, fraction: float, message: str | None = None, *, force: bool = False) -> None:
        """Report progress in [0, 1] (throttled); raises :class:`JobCancelled` when cancellation was requested."""
        now = time.monotonic()
        if not force and now - self._last_report < self.min_interval_s:
            return
        self._last_report = now
        values: dict[str, Any] = {"progress": max(0.0, min(1.0, fraction)), "heartbeat_at": datetime.now(UTC)}
        if message is not None:
            values["message"] = message
        job = update_job(self.job.id, **values)
        if job.cancel_requested:
            raise JobCancelled()

    def check_cancelled(self) -> None:
        """Raise :class:`JobCancelled` if someone asked to cancel this job."""
        with session_scope() as session:
            if session.scalar(select(Job.cancel_requested).where(Job.id == self.job.id)):
                raise JobCancelled()


Handler = Callable[[JobContext], dict[str, Any] | None]


class JobWorker:
    """Claims and runs the jobs of one service in a background thread, beating while each runs."""

    def __init__(self, service: str, handlers: dict[str, Handler], *, poll_s: float = 1.0) -> None:
        self.service = service
        self.handlers = handlers
        self.poll_s = poll_s
        self.name = f"{service}@{socket.gethostname()}:{os.getpid()}"
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        """Start the claim loop and the queue listener."""
        for target in (self._loop, self._listen):
            thread = threading.Thread(target=target, name=f"{self.service}-{target.__name__}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        """Ask the threads to stop (a running handler finishes its current step first)."""
        self._stop.set()
        self._wake.set()

    def _listen(self) -> None:
        import select as select_module

        while not self._stop.is_set():
            try:
                conn = raw_connection()
                try:
                    dbapi = conn.dbapi_connection
                    dbapi.set_isolation_level(0)
                    with dbapi.cursor() as cursor:
                        cursor.execute(f"LISTEN {QUEUED_CHANNEL}")
                    while not self._stop.is_set():
                        if select_module.select([dbapi], [], [], 1.0) == ([], [], []):
                            continue
                        dbapi.poll()
                        while dbapi.notifies:
                            note = dbapi.notifies.pop(0)
                            if note.payload == self.service:
                                self._wake.set()
                finally:
                    conn.invalidate()
            except Exception:  # noqa: BLE001 - the listener only speeds things up; polling continues
                log.exception("job listener failed; retrying")
                self._stop.wait(2.0)

    def _loop(self) -> None:
        last_reap = 0.0
        while not self._stop.is_set():
            try:
                if time.monotonic() - last_reap > 10:
                    reap_stale(self.service)
                    last_reap = time.monotonic()
                job = claim(self.service, self.handlers.keys(), self.name)
            except Exception:  # noqa: BLE001
                log.exception("claiming a job failed")
                job = None
            if job is None:
                self._wake.wait(self.poll_s)
                self._wake.clear()
                continue
            try:
                self.run_job(job)
            except Exception:  # noqa: BLE001 - the claim loop must outlive any single job
                log.exception("job bookkeeping failed", extra={"job_id": str(job.id), "kind": job.kind})

    def run_job(self, job: Job) -> None:
        """Run one claimed job to a final state."""
        beat_stop = threading.Event()

        def beat() -> None:
            interval = get_settings().job_heartbeat_s
            while not beat_stop.wait(interval):
                try:
                    with session_scope() as session:
                        session.execute(
                            update(Job)
                            .where(Job.id == job.id, Job.state == JobState.RUNNING)
                            .values(heartbeat_at=datetime.now(UTC))
                        )
                except Exception:  # noqa: BLE001
                    log.exception("heartbeat failed")

        beater = threading.Thread(target=beat, name=f"beat-{job.id}", daemon=True)
        beater.start()
        started = time.monotonic()
        try:
            result = self.handlers[job.kind](JobContext(job)) or {}
            update_job(job.id, state=JobState.DONE, progress=1.0, message="done", result=result)
            log.info("job done", extra={"job_id": str(job.id), "kind": job.kind, "seconds": round(time.monotonic() - started, 3)})
        except JobCancelled:
            update_job(job.id, state=JobState.CANCELLED, message="cancelled")
            log.info("job cancelled", extra={"job_id": str(job.id), "kind": job.kind})
        except JobFailed as exc:
            update_job(job.id, state=JobState.FAILED, message="failed", error=str(exc))
            log.info("job failed", extra={"job_id": str(job.id), "kind": job.kind, "error": str(exc)})
        except Exception as exc:  # noqa: BLE001 - any handler error fails the job with its reason
            detail = f"{type(exc).__name__}: {exc}"
            update_job(job.id, state=JobState.FAILED, message="failed", error=detail)
            log.error("job crashed", extra={"job_id": str(job.id), "kind": job.kind, "trace": traceback.format_exc()})
        finally:
            beat_stop.set()


def wait_for_job(job_id: uuid.UUID, timeout_s: float = 60.0, poll_s: float = 0.1) -> Job:
    """Block until a job reaches a final state (tests and CLIs); raise TimeoutError otherwise."""
    deadline = time.monotonic() + timeout_s
    while True:
        session = new_session()
        try:
            job = session.get(Job, job_id)
            if job is not None and job.state in FINAL_STATES:
                session.expunge(job)
                return job
        finally:
            session.close()
        if time.monotonic() > deadline:
            raise TimeoutError(f"job {job_id} did not finish within {timeout_s} s")
        time.sleep(poll_s)
