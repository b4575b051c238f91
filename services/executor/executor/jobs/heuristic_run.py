"""Job ``heuristic_run``: one sandboxed pass of one or more labeling functions over all records.

Each run's results replace its heuristic's previous ones only when that run succeeds, in one transaction that also
marks the run finished and enqueues ``heuristic_statistics`` for the weak supervisor.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from shared_model.db import new_session, session_scope
from shared_model.heuristic_results import ResultBuffer, delete_results, store_results
from shared_model.jobs import PROGRESS_CHANNEL, JobCancelled, JobContext, JobFailed, enqueue, ensure_claimed, job_event
from shared_model.models import (
    Attribute,
    HeuristicRun,
    HeuristicType,
    InformationSource,
    Job,
    Label,
    LabelingTask,
    RunState,
    TaskType,
)

from ..active_learning import LearnerError, run_learner
from ..runs import (
    FULL_LIMITS,
    FunctionSpec,
    LabelChecker,
    SandboxError,
    count_records,
    load_context,
    pass_workers,
    run_functions,
)
from ..sandbox.backends import SandboxUnavailable
from ..scheduling import within_time_limit

log = logging.getLogger(__name__)

MAX_LOG_LINES = 500
MAX_LOG_CHARS = 200_000
MAX_STREAMS = 12  # heuristics whose results are written while the pass runs (one connection each); the rest at the end
STREAM_CHUNK_VOTES = 20_000  # votes handed to a stream at once (one chunk row per label)
# Waits on row locks are bounded, so that no thread of a run can wait forever on another transaction (e.g. one that
# deletes the heuristic): progress and logs skip a report, a stream fails its run with the reason.
REPORT_LOCK_TIMEOUT_S = 3.0
STREAM_LOCK_TIMEOUT_S = 20.0
JOIN_TIMEOUT_S = 10.0  # beyond the lock timeout, how long a thread that makes no progress is waited for
LOCK_NOT_AVAILABLE = "55P03"


@dataclass
class RunState_:
    """What one heuristic's run gathers during the pass."""

    run_id: uuid.UUID
    source_id: uuid.UUID
    task_id: uuid.UUID
    name: str
    checker: LabelChecker
    project_id: uuid.UUID
    extraction: bool
    votes: ResultBuffer = field(default_factory=ResultBuffer)
    row_count: int = 0
    records_hit: int = 0
    error: str | None = None
    logs: list[str] = field(default_factory=list)
    log_chars: int = 0
    learner_code: str | None = None  # an active learner's code (it runs on its own, not in the functions' pass)
    details: dict[str, Any] = field(default_factory=dict)
    stream: _Stream | None = None
    progress_line: int | None = None  # index in ``logs`` of the one progress line, replaced by each report
    lock: threading.Lock = field(default_factory=threading.Lock)

    def hand_over(self, final: bool = False) -> None:
        """Pass the collected votes to the stream once there are enough of them (all of them when ``final``)."""
        if self.stream is None or len(self.votes) < (1 if final else STREAM_CHUNK_VOTES):
            return
        self.stream.write(self.votes.take())

    def drop_stream(self) -> None:
        """The run failed: its transaction is rolled back now (the previous results stay, its locks go)."""
        if self.stream is not None:
            self.stream.abort()

    def log(self, line: str) -> None:
        with self.lock:
            if len(self.logs) - (self.progress_line is not None) >= MAX_LOG_LINES or self.log_chars > MAX_LOG_CHARS:
                return
            line = line[:5000]
            self.logs.append(line)
            self.log_chars += len(line)

    def progress(self, line: str) -> None:
        """Show ``line`` as the run's one progress line: the previous one goes, the new one is the last line."""
        with self.lock:
            if self.progress_line is not None:
                self.log_chars -= len(self.logs.pop(self.progress_line))
            self.progress_line = len(self.logs)
            self.logs.append(line)
            self.log_chars += len(line)

    def log_copy(self) -> list[str]:
        with self.lock:
            return list(self.logs)


class _Stream(threading.Thread):
    """One heuristic's results written WHILE the pass runs, in a transaction that commits only if the run succeeds.

    The transaction deletes the previous results first; readers see them until the commit (MVCC), and a failed or
    cancelled run rolls back, so the all-or-nothing rule holds while Postgres's checks of the stored chunks (every
    record looked up) overlap the sandboxed pass instead of following it.
    """

    def __init__(self, state: RunState_) -> None:
        super().__init__(name=f"store-{state.name}", daemon=True)
        self.state = state
        self.items: queue.Queue[ResultBuffer | Callable[[Session], None] | None] = queue.Queue()
        self.failure: BaseException | None = None
        self.committed = False
        self.aborted = threading.Event()
        self.active_at = time.monotonic()  # when it last started a statement (a stalled stream is given up on)

    def write(self, votes: ResultBuffer) -> None:
        self.items.put(votes)

    def abort(self) -> None:
        """Roll back: the rows still queued are not written."""
        self.aborted.set()
        self.items.put(None)

    def finish(self, finalize: Callable[[Session], None]) -> None:
        """After the last rows: run ``finalize`` in the same transaction and commit."""
        self.items.put(finalize)

    def run(self) -> None:
        session = new_session()
        try:
            session.execute(text(f"SET LOCAL lock_timeout = '{int(STREAM_LOCK_TIMEOUT_S * 1000)}ms'"))
            delete_results(session, self.state.source_id)
            cursor = session.connection().connection.cursor()
            state = self.state
            while True:
                item = self.items.get()
                self.active_at = time.monotonic()
                if item is None or self.aborted.is_set():
                    return
                if isinstance(item, ResultBuffer):
                    store_results(cursor, state.project_id, state.task_id, state.source_id, item)
                    continue
                item(session)
                if self.aborted.is_set():  # given up on while it finished: the run is failed, nothing is committed
                    return
                session.commit()
                self.committed = True
                return
        except BaseException as exc:  # noqa: BLE001 - reported by the job as the run's failure
            self.failure = RuntimeError(_locked_reason(STREAM_LOCK_TIMEOUT_S)) if _lock_timeout(exc) else exc
        finally:
            if not self.committed:
                session.rollback()
            session.close()


class _Reporter(threading.Thread):
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
                _bound_lock_waits(session, REPORT_LOCK_TIMEOUT_S)
                _flush_logs(session, self.states, done / self.total, message)
                cancel = _job_progress(session, self.ctx.job.id, done / self.total * 0.95, message)
        except Exception as exc:  # noqa: BLE001 - progress is best effort; the run goes on
            if _lock_timeout(exc):  # e.g. the job row is locked by a cancel or a delete: the next tick tries again
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
            self.join(REPORT_LOCK_TIMEOUT_S + JOIN_TIMEOUT_S)
        if self.is_alive():
            log.error("the progress reporter of a heuristic run did not stop; going on without its last report")
            return
        self.report()


def _bound_lock_waits(session: Session, seconds: float) -> None:
    """Make the session's transaction fail (SQLSTATE 55P03) rather than wait longer than ``seconds`` for a lock."""
    session.execute(text(f"SET LOCAL lock_timeout = '{int(seconds * 1000)}ms'"))


def _lock_timeout(exc: BaseException) -> bool:
    """Whether ``exc`` (psycopg2's or SQLAlchemy's) is a statement that gave up waiting for a lock."""
    return LOCK_NOT_AVAILABLE in (getattr(exc, "pgcode", None), getattr(getattr(exc, "orig", None), "pgcode", None))


def _locked_reason(seconds: float) -> str:
    return (
        f"the results were locked by another transaction for more than {seconds:g} s"
        " (is the heuristic, its labeling task, a label or a record being deleted?)"
    )


def _job_progress(session: Session, job_id: uuid.UUID, fraction: float, message: str) -> bool:
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
            _bound_lock_waits(session, REPORT_LOCK_TIMEOUT_S)
            cancel = _job_progress(session, ctx.job.id, fraction, message)
    except Exception as exc:
        if _lock_timeout(exc):
            return
        raise
    if cancel:
        raise JobCancelled()


def error_summary(error: str | None) -> str:
    """One line for a job's error: the message's first line and, for a multi-line one (a traceback, a reason on the
    next line), its last line, which names the exception or the reason."""
    lines = [line.strip() for line in (error or "").splitlines() if line.strip()]
    if not lines:
        return ""
    if len(lines) == 1:
        return lines[0]
    return f"{lines[0].rstrip(':')}: {lines[-1]}"


def _now_line(text: str) -> str:
    return f"{datetime.now(UTC):%H:%M:%S} {text}"


def heuristic_run(ctx: JobContext) -> dict[str, Any]:
    """Run the heuristic runs named in ``parameters["run_ids"]`` in one worker pass."""
    run_ids = [uuid.UUID(str(r)) for r in ctx.parameters.get("run_ids", [])]
    started = time.monotonic()
    states: dict[str, RunState_] = {}
    with session_scope() as session:
        runs = session.scalars(select(HeuristicRun).where(HeuristicRun.id.in_(run_ids))).all()
        if not runs:
            raise JobFailed("none of the heuristic runs of this job exist any more")
        project_id = runs[0].project_id
        context = load_context(session, project_id)
        total = count_records(session, project_id)
        specs: list[FunctionSpec] = []
        token_counts: dict[str, str] = {}
        for run in runs:
            source = session.get(InformationSource, run.source_id)
            if source is None:
                continue
            task = session.get(LabelingTask, source.labeling_task_id)
            assert task is not None
            labels = dict(session.execute(select(Label.name, Label.id).where(Label.labeling_task_id == task.id)).tuples().all())
            extraction = task.task_type == TaskType.INFORMATION_EXTRACTION
            state = RunState_(run.id, source.id, task.id, source.name, LabelChecker(labels, extraction), project_id, extraction)
            states[str(run.id)] = state
            if source.type == HeuristicType.ACTIVE_LEARNING:
                state.learner_code = run.source_code
            else:
                specs.append(FunctionSpec(id=str(run.id), mode="lf", code=run.source_code, label=source.name))
            if extraction and task.attribute_id is not None and source.type != HeuristicType.ACTIVE_LEARNING:
                attribute = session.get(Attribute, task.attribute_id)
                if attribute is not None:
                    token_counts[str(run.id)] = attribute.name
            run.state = RunState.RUNNING
            run.started_at = datetime.now(UTC)
            run.job_id = ctx.job.id
            state.log(_now_line(f"started on {total} records"))
            run.logs = state.log_copy()
    reporter = _Reporter(ctx, states, total)
    streamed = [states[spec.id] for spec in specs][:MAX_STREAMS]
    for state in streamed:
        state.stream = _Stream(state)
        state.stream.start()

    def on_ready(readiness: dict[str, Any]) -> None:
        for run_id, info in readiness.items():
            state = states.get(run_id)
            if state is None or not isinstance(info, dict):
                continue
            if info.get("error"):
                state.error = f"the code could not start:\n{info['error']}"
            elif bool(info.get("is_generator")) != state.extraction:
                state.error = (
                    "an extraction task needs a generator: `yield label, start_token, end_token`"
                    if state.extraction
                    else "a classification task needs a function that returns a label (or None), not a generator"
                )
            if state.error:
                state.log(_now_line(state.error))
                state.drop_stream()

    def on_batch(message: dict[str, Any], done: int) -> None:
        printed = message.get("stdout") or {}
        hits = message.get("hits") or {}
        for run_id, reason in (message.get("refused") or {}).items():  # forged or broken results: that run fails
            state = states.get(run_id)
            if state is not None and not state.error:
                state.error = reason
                state.log(_now_line(reason))
                state.drop_stream()
        for run_id, entries in (message.get("results") or {}).items():
            state = states.get(run_id)
            if state is None or state.error:
                continue
            if printed.get(run_id):
                for line in str(printed[run_id]).splitlines():
                    state.log(line)
            _collect(state, entries)
            if run_id in hits and not state.error:
                _collect_hits(state, hits[run_id])
            if state.stream is not None and state.stream.failure is not None:
                state.error = f"storing the results failed: {state.stream.failure}"
            if state.error or state.checker.invalid_count:
                state.drop_stream()  # this run fails: stop writing its rows
            else:
                state.hand_over()
        reporter.done = done
        if reporter.cancelled.is_set():
            raise JobCancelled()

    learners = [state for state in states.values() if state.learner_code is not None]
    try:
        readiness: dict[str, Any] = {}
        if specs:
            reporter.start()
            try:
                readiness = run_functions(
                    context,
                    specs,
                    record_ids=None,
                    limits=within_time_limit(context.limits(FULL_LIMITS), ctx),
                    on_ready=on_ready,
                    on_batch=on_batch,
                    stop_on_error=True,
                    poll=ctx.check_cancelled,
                    token_counts=token_counts,
                    compact_hits=True,
                    refuse_per_function=True,
                    workers=pass_workers(),
                )
            finally:
                reporter.stop()
            if reporter.cancelled.is_set():  # seen by its last report, after the last batch: nothing is committed
                raise JobCancelled()
        for number, state in enumerate(learners):
            _run_learner(state, within_time_limit(context.limits(FULL_LIMITS), ctx), ctx, number, len(learners))
    except JobCancelled:
        _end_streams(streamed)
        _finish_all(states, RunState.CANCELLED, "cancelled")
        raise
    except (SandboxError, SandboxUnavailable) as exc:
        _end_streams(streamed)
        for state in states.values():
            state.error = state.error or str(exc)
        _finish_failed(states)
        raise JobFailed(str(exc)) from exc
    except JobFailed as exc:  # e.g. past the run's time limit
        _end_streams(streamed)
        for state in states.values():
            state.error = state.error or str(exc)
        _finish_failed(states)
        raise
    except BaseException as exc:
        _end_streams(streamed)
        for state in states.values():
            state.error = state.error or f"internal error of the executor: {type(exc).__name__}: {exc}"
        _finish_failed(states)
        raise
    seconds = time.monotonic() - started
    outcome: dict[str, Any] = {}
    store_started = time.monotonic()
    for state in states.values():
        if state.error is None and state.checker.invalid_count:
            state.error = state.checker.summary()
    for state in streamed:  # the streamed runs: the last rows, then finish in the same transaction (or roll back)
        if state.error is None:
            state.hand_over(final=True)
            assert state.stream is not None
            state.stream.finish(partial(_finalize, state=state, seconds=seconds, claim=ctx.claim))
        else:
            state.drop_stream()
    buffered = [state for state in states.values() if state.error is None and state not in streamed]
    # Each buffered run stores in its own transaction; several at once keep Postgres's cores busy.
    with ThreadPoolExecutor(max_workers=min(4, max(1, len(buffered)))) as pool:
        list(pool.map(lambda state: _store_or_fail(state, seconds, ctx.claim), buffered))
    _end_streams(streamed, abort=False)
    for state in streamed:
        assert state.stream is not None
        if state.error is None and not state.stream.committed:
            state.error = f"storing the results failed: {state.stream.failure}"
    for run_id, state in states.items():
        if state.error is None:
            outcome[run_id] = {"state": "FINISHED", "associations": state.row_count, "records": state.records_hit}
        else:
            outcome[run_id] = {"state": "FAILED", "error": state.error}
    _finish_failed(states)
    failed = [s for s in states.values() if s.error]
    if failed:
        reasons = "; ".join(f"{s.name}: {error_summary(s.error)}" for s in failed)
        if len(states) > 1:  # partly failed: which ones, and that the others are stored
            names = ", ".join(s.name for s in failed)
            others = len(states) - len(failed)
            stored = f"the other {others} finished and stored their results" if others else "none finished"
            reasons = f"{len(failed)} of {len(states)} heuristics failed ({names}); {stored}. {reasons}"
        raise JobFailed(reasons[:4000])
    timings = readiness.get("__timings__", {})
    timings["store_s"] = round(time.monotonic() - store_started, 3)
    return {"runs": outcome, "seconds": round(seconds, 3), "timings": timings}


def _end_streams(streamed: list[RunState_], abort: bool = True) -> None:
    """Wait for the stream threads (rolling back the ones not yet finished when ``abort``).

    A stream is waited for while it works through its rows; one that started no statement for longer than a lock
    wait can last (plus a margin) is given up on: rolled back when it returns, its run failed with the reason.
    """
    stall_s = STREAM_LOCK_TIMEOUT_S + JOIN_TIMEOUT_S
    for state in streamed:
        stream = state.stream
        if stream is None:
            continue
        if abort:
            stream.abort()
        while stream.is_alive():
            stream.join(1.0)
            if stream.is_alive() and time.monotonic() - stream.active_at > stall_s:
                stream.abort()
                stream.failure = stream.failure or RuntimeError(f"the database did not answer for more than {stall_s:g} s")
                log.error("a result stream of a heuristic run did not finish; given up", extra={"run": str(state.run_id)})
                break


def _collect(state: RunState_, entries: list[Any]) -> None:
    """A batch's results of one function that were not grouped: checked, then kept as votes (or the run fails)."""
    add, labels = state.votes.add, state.checker.labels
    hits = 0
    for entry in entries:
        record_id, value, error, _, n_tokens = entry
        if error is not None:
            state.error = f"the code raised an error on record {record_id}:\n{error}"
            state.log(_now_line(state.error))
            break
        if not state.extraction and type(value) is str and value in labels:
            add(record_id, labels[value])
            hits += 1
            continue
        rows = state.checker.check(record_id, value, n_tokens)
        if rows:
            state.records_hit += 1
        for label_id, start, end in rows:
            add(record_id, label_id, start, end)
            state.row_count += 1
    state.records_hit += hits
    state.row_count += hits


def _collect_hits(state: RunState_, grouped: dict[str, list[int]]) -> None:
    """Classification results sent as ``{label: [record ids]}`` (ids checked to be this batch's by ``run_functions``)."""
    for value, record_ids in grouped.items():
        if not record_ids:
            continue
        label_id = state.checker.labels.get(value) if not state.extraction else None
        if label_id is None:  # an unknown label, or a str where an extraction needs spans: rejected per record
            for record_id in record_ids:
                state.checker.check(record_id, value, None)
            continue
        state.votes.add_records(label_id, record_ids)
        state.row_count += len(record_ids)
        state.records_hit += len(record_ids)


def _run_learner(state: RunState_, limits: Any, ctx: JobContext, number: int, count: int) -> None:
    """Fit and apply one active learner; its rows carry the predicted probability as confidence."""
    assert state.learner_code is not None

    last = 0.0

    def progress(share: float) -> None:
        nonlocal last
        if time.monotonic() - last >= ctx.min_interval_s:
            last = time.monotonic()
            report_progress(ctx, (number + share) / count * 0.95, f"active learner {state.name}: {share:.0%}")

    try:
        result = run_learner(
            project_id=state.project_id,
            source_id=state.source_id,
            task_id=state.task_id,
            extraction=state.extraction,
            name=state.name,
            code=state.learner_code,
            limits=limits,
            log=lambda line: state.log(_now_line(line)),
            progress=progress,
            poll=ctx.check_cancelled,
        )
    except (LearnerError, SandboxError, SandboxUnavailable) as exc:
        state.error = str(exc)
        state.log(_now_line(error_summary(state.error)))
        return
    for record_id, predictions in result.predictions.items():
        hit = False
        for label, start, end, confidence in predictions:
            label_id = state.checker.labels.get(label)
            if label_id is None:
                continue  # a class of the learner that is not a label of the task (e.g. a deleted one)
            state.votes.add(int(record_id), label_id, start, end, float(confidence))
            state.row_count += 1
            hit = True
        state.records_hit += hit
    state.details = {
        "embedding": result.embedding,
        "training_records": len(result.training_record_ids),
        "training_record_ids": result.training_record_ids,
    }


def _flush_logs(session: Session, states: dict[str, RunState_], progress: float, message: str) -> None:
    """Write each run's logs with ``message`` as its progress line, and its progress; a run that has failed keeps
    the progress it had when it stopped (the pass goes on for the others)."""
    for run_id, state in states.items():
        run = session.get(HeuristicRun, uuid.UUID(run_id))
        if run is not None:
            if state.error is None:
                state.progress(_now_line(message))
                run.progress = progress
            run.logs = state.log_copy()


def _store_or_fail(state: RunState_, seconds: float, claim: Job | None) -> None:
    """:func:`_store`; an error fails this run only (its transaction is rolled back, the previous results stay)."""
    try:
        _store(state, seconds, claim)
    except Exception as exc:  # noqa: BLE001 - named in the run's error
        reason = _locked_reason(STREAM_LOCK_TIMEOUT_S) if _lock_timeout(exc) else f"{type(exc).__name__}: {exc}"
        state.error = f"storing the results failed: {reason}"
        state.log(_now_line(state.error))


def _store(state: RunState_, seconds: float, claim: Job | None) -> None:
    """Replace the heuristic's results, finish the run and ask for its statistics, all in one transaction."""
    with session_scope() as session:
        _bound_lock_waits(session, STREAM_LOCK_TIMEOUT_S)
        delete_results(session, state.source_id)
        cursor = session.connection().connection.cursor()
        store_results(cursor, state.project_id, state.task_id, state.source_id, state.votes)
        _finalize(session, state, seconds, claim)


def _finalize(session: Session, state: RunState_, seconds: float, claim: Job | None) -> None:
    """Mark the run finished and ask for its statistics (in the transaction that stored its results); nothing is
    committed when the job is no longer this worker's (the reaper failed it meanwhile: its runs are failed)."""
    if claim is not None:
        ensure_claimed(session, claim)
    run = session.get(HeuristicRun, state.run_id)
    if run is None:
        raise RuntimeError("the run was deleted while it ran")
    state.log(_now_line(f"finished: {state.row_count} labels on {state.records_hit} records in {seconds:.2f} s"))
    run.state = RunState.FINISHED
    run.progress = 1.0
    run.finished_at = datetime.now(UTC)
    run.logs = state.log_copy()
    run.details = {
        "associations": state.row_count,
        "records": state.records_hit,
        "seconds": round(seconds, 3),
        **state.details,
    }
    enqueue(
        session,
        kind="heuristic_statistics",
        owner_service="weak_supervisor",
        project_id=state.project_id,
        parameters={"source_id": str(state.source_id), "labeling_task_id": str(state.task_id)},
    )


def _finish_failed(states: dict[str, RunState_]) -> None:
    with session_scope() as session:
        for state in states.values():
            if state.error is None:
                continue
            run = session.get(HeuristicRun, state.run_id)
            if run is None or run.state in (RunState.FINISHED, RunState.FAILED):
                continue
            state.log(_now_line("failed; the previous results are kept"))
            run.state = RunState.FAILED
            run.error = state.error[:20_000]
            run.finished_at = datetime.now(UTC)
            run.logs = state.log_copy()


def _finish_all(states: dict[str, RunState_], final: RunState, note: str) -> None:
    with session_scope() as session:
        for state in states.values():
            run = session.get(HeuristicRun, state.run_id)
            if run is None:
                continue
            state.log(_now_line(f"{note}; the previous results are kept"))
            run.state = final
            run.finished_at = datetime.now(UTC)
            run.logs = state.log_copy()
