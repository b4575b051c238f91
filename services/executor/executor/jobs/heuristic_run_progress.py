"""The progress of a ``heuristic_run`` job and the logs of its runs, written with bounded lock waits."""

from __future__ import annotations

import json
import logging
import threading
import uuid
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

from shared_model.db import session_scope
from shared_model.jobs import PROGRESS_CHANNEL, JobCancelled, JobContext, job_event
from shared_model.models import HeuristicRun, Job

from . import heuristic_run_locks as locks
from .heuristic_run_state import RunState_, now_line

log = logging.getLogger("executor.jobs.heuristic_run")


class Reporter(threading.Thread):
    """Writes the pass's progress and the runs' logs about once a second from its own thread, so that the pass never
    waits for those database round trips; a cancellation it notices is raised by the pass at its next batch."""

    def __init__(self, ctx: JobContext, states: dict[str, RunState_], total: int) -> None:
        super().__init__(name="heuristic-run-progress", daemon=True)
        self.ctx = ctx
        self.states = states
        self.total = max(total, 1)
        self.done = 0
        self.reported = 0  # nothing to say before the first batch ends (no "0/N records" line)
        self.cancelled = threading.Event()
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.wait(0.5):
            self.report()

    def report(self) -> None:
        done = self.done
        if done == self.reported:
            return
        message = f"{done}/{self.total} records"
        try:
            with session_scope() as session:
                locks.bound_lock_waits(session, locks.REPORT_LOCK_TIMEOUT_S)
                flush_logs(session, self.states, done / self.total, message)
                cancel = job_progress(session, self.ctx.job.id, done / self.total * 0.95, message)
        except Exception as exc:  # noqa: BLE001 - progress is best effort; the run goes on
            if locks.lock_timeout(exc):  # e.g. the job row is locked by a cancel or a delete: the next tick tries again
                log.warning("the progress of a heuristic run waited too long for a lock; skipped")
            else:
                log.exception("reporting the progress of a heuristic run failed")
            return
        self.reported = done
        if cancel:
            self.cancelled.set()

    def stop(self) -> None:
        """Stop the thread, then write the last progress (before the runs are finished); never waits unbounded."""
        self.halt.set()
        if self.is_alive():
            self.join(locks.REPORT_LOCK_TIMEOUT_S + locks.JOIN_TIMEOUT_S)
        if self.is_alive():
            log.error("the progress reporter of a heuristic run did not stop; going on without its last report")
            return
        self.report()


def job_progress(session: Session, job_id: uuid.UUID, fraction: float, message: str) -> bool:
    """Record the job's progress (as ``JobContext.progress``, in the caller's lock-bounded transaction); whether its
    cancellation was requested."""
    job = session.get(Job, job_id, with_for_update=True)
    if job is None:
        return True
    job.progress = max(0.0, min(1.0, fraction))
    job.heartbeat_at = datetime.now(UTC)
    job.message = message
    session.flush()
    session.execute(text("SELECT pg_notify(:c, :p)"), {"c": PROGRESS_CHANNEL, "p": json.dumps(job_event(job))})
    return bool(job.cancel_requested)


def report_progress(ctx: JobContext, fraction: float, message: str) -> None:
    """The job's progress with bounded lock waits (a locked job row skips this report); JobCancelled if requested."""
    try:
        with session_scope() as session:
            locks.bound_lock_waits(session, locks.REPORT_LOCK_TIMEOUT_S)
            cancel = job_progress(session, ctx.job.id, fraction, message)
    except Exception as exc:
        if locks.lock_timeout(exc):
            return
        raise
    if cancel:
        raise JobCancelled()


def flush_logs(session: Session, states: dict[str, RunState_], progress: float, message: str) -> None:
    """Write each run's logs with ``message`` as its progress line, and its progress; a run that has failed keeps
    the progress it had when it stopped (the pass goes on for the others)."""
    for run_id, state in states.items():
        run = session.get(HeuristicRun, uuid.UUID(run_id))
        if run is not None:
            if state.error is None:
                state.progress(now_line(message))
                run.progress = progress
            run.logs = state.log_copy()
