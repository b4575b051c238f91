"""The durable job queue on the ``job`` table.

A job is enqueued by one service (usually the gateway) for an owning service, which claims it with
``SELECT … FOR UPDATE SKIP LOCKED``, beats while it works and reports progress; each change is published with
``NOTIFY`` on :data:`PROGRESS_CHANNEL` so the gateway can relay it to browsers. A job whose service stopped beating
is put back in the queue or failed with a reason — never left running.

Why one module of ~600 lines: it is the job table's state machine (enqueue, claim, beat, progress, finish, cancel,
reap); every transition must keep the same fencing rules, which is easier to check when they sit together.
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
from functools import partial
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from .db import new_session, session_scope
from .listen import listen
from .models import Job, JobState
from .run_state import settle_runs
from .settings import SERVICE_NAMES, get_settings

PROGRESS_CHANNEL = "refinery_job_progress"
QUEUED_CHANNEL = "refinery_job_queued"
FINAL_STATES = (JobState.DONE, JobState.FAILED, JobState.CANCELLED)

log = logging.getLogger("shared_model.jobs")


class JobCancelled(Exception):
    """Raised inside a job handler when the job's cancellation was requested."""


class JobFailed(Exception):
    """Raised by a handler to fail its job with a message meant for the user (no traceback)."""


class JobTimedOut(JobFailed):
    """Raised inside a job handler when the job ran past its time limit."""


class JobLost(Exception):
    """Raised when a job is no longer this worker's: the reaper failed or requeued it, or another worker claimed it."""


def job_event(job: Job, queue_position: int | None = None) -> dict[str, Any]:
    """The JSON-able view of a job published on NOTIFY and returned by the API (``queue_position``: 1 = the next
    job its service will start; None unless queued)."""
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
        "queue_position": queue_position,
    }


# The order in which a service claims its queued jobs, fair across projects: a project's k-th oldest queued job gets
# the turn (running jobs of the project) + k, and the lowest turn goes first (ties: the older job). So the project
# with the fewest running jobs starts next (round robin), and one project's many queued runs never hold back another's.
_FAIR_QUEUE = """
WITH running AS (
    SELECT project_id, count(*) AS n FROM job WHERE owner_service = :service AND state = 'running' GROUP BY project_id
), queued AS (
    SELECT j.id, j.created_at,
           coalesce(r.n, 0) + row_number() OVER (PARTITION BY j.project_id ORDER BY j.created_at, j.id) AS turn
    FROM job j LEFT JOIN running r ON r.project_id IS NOT DISTINCT FROM j.project_id
    WHERE j.owner_service = :service AND j.state = 'queued' {kinds} {cap}
)
SELECT id, row_number() OVER (ORDER BY turn, created_at, id) AS position FROM queued ORDER BY position LIMIT :limit
"""
MAX_POSITIONS_PUBLISHED = 100  # queued jobs whose new position is published when the queue moves


def queue_positions(
    session: Session,
    owner_service: str,
    kinds: Iterable[str] | None = None,
    limit: int = 10_000,
    per_project: int | None = None,
) -> dict[uuid.UUID, int]:
    """The queued jobs of ``owner_service`` (of ``kinds``) and their position in its claim order (1 = next); with
    ``per_project``, only those of projects with fewer running jobs than that (the ones that may start now)."""
    params: dict[str, Any] = {"service": owner_service, "limit": limit}
    kinds_filter = cap_filter = ""
    if kinds is not None:
        params["kinds"] = list(kinds)
        kinds_filter = "AND j.kind = ANY(:kinds)"
    if per_project is not None:
        params["cap"] = per_project
        cap_filter = "AND coalesce(r.n, 0) < :cap"
    rows = session.execute(text(_FAIR_QUEUE.format(kinds=kinds_filter, cap=cap_filter)), params)
    return {row[0]: int(row[1]) for row in rows}


def queue_position(session: Session, job: Job) -> int | None:
    """The job's position in its service's queue (None when it is not queued)."""
    if job.state != JobState.QUEUED:
        return None
    return queue_positions(session, job.owner_service).get(job.id)


def publish_queue(session: Session, owner_service: str) -> None:
    """Publish the new position of each queued job of ``owner_service`` (the first ones): the queue moved."""
    positions = queue_positions(session, owner_service, limit=MAX_POSITIONS_PUBLISHED)
    if not positions:
        return
    for job in session.scalars(select(Job).where(Job.id.in_(list(positions)))):
        _publish(session, job, positions[job.id])


def _publish(session: Session, job: Job, position: int | None = None) -> None:
    if position is None and job.state == JobState.QUEUED:
        position = queue_position(session, job)
    payload = json.dumps(job_event(job, position))
    if len(payload) > 7000:  # NOTIFY payloads are limited to 8000 bytes
        event = job_event(job, position)
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


def enqueue_in(cursor: Any, *, kind: str, owner_service: str, project_id: uuid.UUID | None = None) -> uuid.UUID:
    """:func:`enqueue` in the transaction of a raw DB-API ``cursor`` (e.g. an upload's COPY connection)."""
    job_id = uuid.uuid4()
    cursor.execute(
        "INSERT INTO job (id, kind, owner_service, project_id, parameters, state, progress, message, result, attempts,"
        " cancel_requested, created_at) VALUES (%s, %s, %s, %s, '{}'::jsonb, %s, 0.0, 'queued', '{}'::jsonb, 0, false,"
        " now())",
        (str(job_id), kind, owner_service, str(project_id) if project_id else None, JobState.QUEUED.value),
    )
    cursor.execute("SELECT pg_notify(%s, %s)", (QUEUED_CHANNEL, owner_service))
    return job_id


def claim(owner_service: str, kinds: Iterable[str], worker: str, per_project: int | None = None) -> Job | None:
    """Claim the next queued job of ``kinds`` for ``owner_service`` in the fair order (see :func:`queue_positions`),
    marking it running; None if there is none. With ``per_project``, a project that runs that many jobs of the
    service already waits (so that one project never takes every place).

    Claims of one service are serialized by a transaction-level advisory lock, so that two claimers never both pick
    the same project's jobs on the strength of the same running counts; the row itself is taken with
    ``FOR UPDATE SKIP LOCKED`` (a job being cancelled right now is skipped).
    """
    kinds = list(kinds)
    with session_scope() as session:
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"refinery-claim:{owner_service}"})
        job = None
        for job_id in queue_positions(session, owner_service, kinds, limit=20, per_project=per_project):
            job = session.scalars(
                select(Job).where(Job.id == job_id, Job.state == JobState.QUEUED).with_for_update(skip_locked=True)
            ).first()
            if job is not None:
                break
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
        publish_queue(session, owner_service)
        session.expunge(job)
        return job


def update_job(job_id: uuid.UUID, *, claimed: Job | None = None, **values: Any) -> Job:
    """Set columns of a job, publish the change and return the job; a new state also settles its run rows
    (:func:`shared_model.run_state.settle_runs`) in the same transaction.

    With ``claimed`` (the job as this worker claimed it), :class:`JobLost` is raised instead when the job is no longer
    that claim: not running, or claimed again since (the reaper failed or requeued it while its handler still ran).
    """
    with session_scope() as session:
        job = session.get(Job, job_id, with_for_update=True)
        if job is None:
            raise LookupError(f"job {job_id} does not exist")
        if claimed is not None:
            check_claim(job, claimed)
        for key, value in values.items():
            if isinstance(value, str):  # an error quoting bad input must not fail the bookkeeping (no NUL in text)
                value = value.replace("\x00", "\\x00")
            setattr(job, key, value)
        if values.get("state") in FINAL_STATES:
            job.finished_at = datetime.now(UTC)
        session.flush()
        if "state" in values:
            settle_runs(session, job)
        _publish(session, job)
        if values.get("state") in FINAL_STATES:
            publish_queue(session, job.owner_service)  # a project runs one job fewer: the queue's order may change
        session.expunge(job)
        return job


def announce(job_id: uuid.UUID) -> None:
    """Publish a job's current state (and the queue's), e.g. after its handler committed its end itself."""
    with session_scope() as session:
        job = session.get(Job, job_id)
        if job is None:
            return
        _publish(session, job)
        publish_queue(session, job.owner_service)


def check_claim(current: Job, claimed: Job) -> None:
    """Raise :class:`JobLost` unless ``current`` (the job's row now) is still the claim ``claimed`` was."""
    if current.state != JobState.RUNNING or current.attempts != claimed.attempts:
        state = f"{current.state}" + (f": {current.error}" if current.error else "")
        raise JobLost(f"job {current.id} is no longer this worker's (it is {state})")


def ensure_claimed(session: Session, claimed: Job) -> None:
    """Share-lock the job's row in the caller's transaction and raise :class:`JobLost` unless it is still ``claimed``.

    A handler calls this in the transaction that makes its work visible (e.g. stores a run's results), so that a job
    the reaper gave up on can never commit results after its run was failed: the reaper (``FOR UPDATE SKIP LOCKED``)
    cannot take the job while this transaction holds the lock, and the transaction cannot take a job already reaped.
    Several such transactions of one job (one per heuristic of a run) hold the share lock together.
    """
    current = session.get(Job, claimed.id, with_for_update={"read": True}, populate_existing=True)
    if current is None:
        raise JobLost(f"job {claimed.id} does not exist any more")
    check_claim(current, claimed)


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
    settle_runs(session, job)
    _publish(session, job)
    if job.state == JobState.CANCELLED:
        publish_queue(session, job.owner_service)


def reap_stale(owner_service: str | tuple[str, ...] | None = None, *, gone_workers: Iterable[str] = ()) -> list[uuid.UUID]:
    """Requeue (or fail, after ``job_max_attempts``; cancel, when its cancellation was requested) running jobs whose
    heartbeat is older than ``job_stale_after_s`` or whose worker is in ``gone_workers`` (its process is known to be
    dead); their run rows follow in the same transaction (:func:`shared_model.run_state.settle_runs`)."""
    settings = get_settings()
    now = datetime.now(UTC)
    cutoff = now - timedelta(seconds=settings.job_stale_after_s)
    gone = list(gone_workers)
    reaped: list[uuid.UUID] = []
    with session_scope() as session:
        lost = Job.heartbeat_at < cutoff
        if gone:
            lost = lost | Job.worker.in_(gone)
        query = select(Job).where(Job.state == JobState.RUNNING, lost).with_for_update(skip_locked=True)
        if isinstance(owner_service, str):
            query = query.where(Job.owner_service == owner_service)
        elif owner_service is not None:
            query = query.where(Job.owner_service.in_(owner_service))
        for job in session.scalars(query):
            if job.worker in gone:
                silent = f"the {job.owner_service} worker {job.worker} died while it ran this job"
            else:
                beat = job.heartbeat_at or now
                silent = f"the {job.owner_service} worker {job.worker} stopped reporting (last heartbeat {beat:%H:%M:%S} UTC)"
            if job.cancel_requested:  # it was to stop anyway
                job.state = JobState.CANCELLED
                job.message = f"cancelled ({silent})"
                job.finished_at = now
            elif job.attempts < settings.job_max_attempts:
                job.state = JobState.QUEUED
                job.message = f"requeued: {silent}"
            else:
                job.state = JobState.FAILED
                job.error = f"{silent}; gave up after {job.attempts} attempt(s)"
                job.message = "failed"
                job.finished_at = now
            session.flush()
            settle_runs(session, job)
            _publish(session, job)
            reaped.append(job.id)
    for job_id in reaped:
        log.warning("reaped stale job", extra={"job_id": str(job_id)})
    return reaped


def gone_workers(owner_service: str) -> list[str]:
    """Workers of ``owner_service`` on this host that hold running jobs but whose process no longer exists (e.g. the
    service was killed and restarted): their jobs need not wait for ``job_stale_after_s``."""
    prefix = f"{owner_service}@{socket.gethostname()}:"
    with session_scope() as session:
        names = session.scalars(
            select(Job.worker).distinct().where(Job.state == JobState.RUNNING, Job.worker.startswith(prefix, autoescape=True))
        ).all()
    gone: list[str] = []
    for name in names:
        if name is None:
            continue
        pid = name.removeprefix(prefix)
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            gone.append(name)
        except PermissionError:  # a process of another user: alive
            continue
    return gone


def reap_interval_s() -> float:
    """How often a worker looks for stale jobs: half the stale timeout, between 0.5 and 10 s."""
    return max(0.5, min(10.0, get_settings().job_stale_after_s / 2))


@dataclass
class JobContext:
    """What a running handler gets: its job, progress reporting, cancellation checks and its time limit."""

    job: Job
    min_interval_s: float = 0.25
    time_limit_s: float | None = None  # the job's time limit, counted from ``started`` (None: no limit)
    started: float = field(default_factory=time.monotonic)
    _last_report: float = field(default=0.0, init=False)
    finished_with: dict[str, Any] | None = field(default=None, init=False)

    @property
    def parameters(self) -> dict[str, Any]:
        return self.job.parameters

    def finish_in(self, cursor: Any, result: dict[str, Any]) -> None:
        """Mark the job done in the caller's own transaction (a DB-API ``cursor``), so that its work and its final
        state commit together: a process killed between the two can never leave committed work behind a job the
        reaper then fails. Raises :class:`JobLost` when the job is no longer this worker's claim. The handler still
        returns normally; its worker then only announces the end. A job handed to a handler directly (no claim) is
        left to its caller."""
        claim = self.claim
        if claim is None:
            return
        cursor.execute(
            "UPDATE job SET state = %s, progress = 1.0, message = 'done', result = %s::jsonb, finished_at = now()"
            " WHERE id = %s AND state = %s AND attempts = %s",
            (JobState.DONE.value, json.dumps(result), str(claim.id), JobState.RUNNING.value, claim.attempts),
        )
        if cursor.rowcount != 1:
            raise JobLost(f"job {claim.id} is no longer this worker's")
        self.finished_with = result

    def remaining_s(self) -> float | None:
        """Seconds left before the time limit (None: no limit)."""
        if self.time_limit_s is None:
            return None
        return self.time_limit_s - (time.monotonic() - self.started)

    def check_time(self) -> None:
        """Raise :class:`JobTimedOut` once the job has run past its time limit."""
        remaining = self.remaining_s()
        if remaining is not None and remaining <= 0:
            assert self.time_limit_s is not None
            raise JobTimedOut(f"the run exceeded its time limit of {self.time_limit_s:g} s (the project's run_time_limit_s)")

    @property
    def claim(self) -> Job | None:
        """The job as its worker claimed it (state running), which its reports are fenced on; None for a job handed
        to a handler directly (tests, CLIs), whose reports are not fenced."""
        return self.job if self.job.state == JobState.RUNNING else None

    def progress(self, fraction: float, message: str | None = None, *, force: bool = False) -> None:
        """Report progress in [0, 1] (throttled); raises :class:`JobCancelled` when cancellation was requested,
        :class:`JobTimedOut` past the time limit."""
        self.check_time()
        now = time.monotonic()
        if not force and now - self._last_report < self.min_interval_s:
            return
        self._last_report = now
        values: dict[str, Any] = {"progress": max(0.0, min(1.0, fraction)), "heartbeat_at": datetime.now(UTC)}
        if message is not None:
            values["message"] = message
        job = update_job(self.job.id, claimed=self.claim, **values)
        if job.cancel_requested:
            raise JobCancelled()

    def check_cancelled(self) -> None:
        """Raise :class:`JobCancelled` if someone asked to cancel this job (:class:`JobLost` if it is no longer ours),
        :class:`JobTimedOut` past the time limit."""
        self.check_time()
        with session_scope() as session:
            row = session.execute(select(Job.cancel_requested, Job.state, Job.attempts).where(Job.id == self.job.id)).first()
        if row is None:
            if self.claim is not None:
                raise JobLost(f"job {self.job.id} does not exist any more")
            return
        if self.claim is not None and (row.state != JobState.RUNNING or row.attempts != self.job.attempts):
            raise JobLost(f"job {self.job.id} is no longer this worker's (it is {row.state})")
        if row.cancel_requested:
            raise JobCancelled()


Handler = Callable[[JobContext], dict[str, Any] | None]


TimeLimit = Callable[[Job], float | None]


class JobWorker:
    """Claims and runs the jobs of one service in background threads, beating while each runs.

    ``concurrency`` claim loops run side by side, so at most that many jobs of this process run at once; each claims
    in the fair order of :func:`claim`, and a project with ``per_project`` running jobs waits for one of them.
    ``time_limit(job)`` gives a job's time limit in seconds (None: none), which its handler sees in
    :attr:`JobContext.time_limit_s`. ``reap_all``: reap every service's stale jobs, not only this one's (the gateway).
    """

    def __init__(
        self,
        service: str,
        handlers: dict[str, Handler],
        *,
        poll_s: float = 1.0,
        concurrency: int = 1,
        per_project: int | None = None,
        time_limit: TimeLimit | None = None,
        reap_all: bool = False,
    ) -> None:
        self.service = service
        self.handlers = handlers
        self.poll_s = poll_s
        self.concurrency = max(1, concurrency)
        self.per_project = per_project
        self.time_limit = time_limit
        self.reap_all = reap_all  # reap the stale jobs of every service of the platform, not only this one's (the gateway)
        self.name = f"{service}@{socket.gethostname()}:{os.getpid()}"
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        """Start the claim loops and the queue listener."""
        targets: list[tuple[str, Callable[[], None]]] = [("listen", self._listen)]
        targets += [(f"slot{slot}", partial(self._loop, slot)) for slot in range(self.concurrency)]
        for label, target in targets:
            thread = threading.Thread(target=target, name=f"{self.service}-{label}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        """Ask the threads to stop (a running handler finishes its current step first)."""
        self._stop.set()
        self._wake.set()

    def _listen(self) -> None:
        """Wake the claim loop when a job of this service is queued (it only speeds things up; polling continues)."""
        listen(QUEUED_CHANNEL, self._on_queued, self._stop)

    def _on_queued(self, service: str) -> None:
        if service == self.service:
            self._wake.set()

    def _loop(self, slot: int = 0) -> None:
        last_reap: float | None = None
        while not self._stop.is_set():
            try:
                if slot == 0 and last_reap is None:  # first: the jobs this service held when its previous process died
                    reap_stale(self.service, gone_workers=gone_workers(self.service))
                    last_reap = time.monotonic()
                if slot == 0 and last_reap is not None and time.monotonic() - last_reap > reap_interval_s():
                    reap_stale(SERVICE_NAMES if self.reap_all else self.service)
                    last_reap = time.monotonic()
                job = claim(self.service, self.handlers.keys(), self.name, self.per_project)
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
            self._wake.set()  # a place is free: a loop that waits may claim a job that had to wait for this one

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
                            .where(Job.id == job.id, Job.state == JobState.RUNNING, Job.attempts == job.attempts)
                            .values(heartbeat_at=datetime.now(UTC))
                        )
                except Exception:  # noqa: BLE001
                    log.exception("heartbeat failed")

        beater = threading.Thread(target=beat, name=f"beat-{job.id}", daemon=True)
        beater.start()
        started = time.monotonic()
        try:
            limit = self.time_limit(job) if self.time_limit is not None else None
            context = JobContext(job, time_limit_s=limit)
            result = self.handlers[job.kind](context) or {}
            if context.finished_with is not None:  # the handler committed its state with its work: announce it
                announce(job.id)
            else:
                update_job(job.id, claimed=job, state=JobState.DONE, progress=1.0, message="done", result=result)
            log.info("job done", extra={"job_id": str(job.id), "kind": job.kind, "seconds": round(time.monotonic() - started, 3)})
        except JobLost as exc:
            log.warning("job lost while it ran; its outcome is dropped", extra={"job_id": str(job.id), "error": str(exc)})
        except JobCancelled:
            self._end(job, state=JobState.CANCELLED, message="cancelled")
            log.info("job cancelled", extra={"job_id": str(job.id), "kind": job.kind})
        except JobFailed as exc:
            self._end(job, state=JobState.FAILED, message="failed", error=str(exc))
            log.info("job failed", extra={"job_id": str(job.id), "kind": job.kind, "error": str(exc)})
        except Exception as exc:  # noqa: BLE001 - any handler error fails the job with its reason
            detail = f"{type(exc).__name__}: {exc}"
            self._end(job, state=JobState.FAILED, message="failed", error=detail)
            log.error("job crashed", extra={"job_id": str(job.id), "kind": job.kind, "trace": traceback.format_exc()})
        finally:
            beat_stop.set()

    @staticmethod
    def _end(job: Job, **values: Any) -> None:
        """End a claimed job that did not succeed; one that is no longer this worker's keeps what the reaper set."""
        try:
            update_job(job.id, claimed=job, **values)
        except JobLost as exc:
            log.warning("job lost while it ran; its outcome is dropped", extra={"job_id": str(job.id), "error": str(exc)})


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
