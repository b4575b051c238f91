"""Storing the results of a ``heuristic_run`` pass, versioned per run (migration 0011).

A run's votes are stored as chunks of its own version (its run id), each chunk in a short transaction of its own;
readers do not see them. When the run succeeds, one short transaction makes its version current (a pointer per
heuristic), marks the run finished and asks for its statistics; the superseded version is then garbage-collected.
A run that fails, is cancelled or whose process is killed never becomes current: the previous results stay fully
visible, and its chunks are collected as garbage (once its run is no longer RUNNING).

The first runs of a pass stream their chunks while the pass runs (:class:`ResultStream`); the others are stored at
the end (:func:`store_or_fail`). Failed or cancelled runs are marked so by :func:`finish_failed` / :func:`finish_all`.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from functools import partial

from sqlalchemy import text
from sqlalchemy.orm import Session

from shared_model.db import new_session, session_scope
from shared_model.heuristic_results import LOCK_CLASS, ResultBuffer, collect_garbage, store_results, switch_version
from shared_model.jobs import enqueue, ensure_claimed
from shared_model.models import HeuristicRun, Job, RunState

from . import heuristic_run_locks as locks
from .heuristic_run_state import RunState_, now_line

log = logging.getLogger("executor.jobs.heuristic_run")

FOREIGN_KEY_VIOLATION = "23503"
MAX_STREAMS = 12  # heuristics whose results are written while the pass runs (one connection each); the rest at the end


class ResultStream(threading.Thread):
    """One heuristic's results written WHILE the pass runs: each chunk in a transaction of its own, under the run's
    version, which becomes current only if the run succeeds (:func:`finalize`, in a last short transaction).

    Readers see the previous results until that switch; a failed or cancelled run never switches, so the
    all-or-nothing rule holds while Postgres's checks of the stored chunks (every record looked up) overlap the
    sandboxed pass instead of following it, and no transaction lives longer than one chunk write.
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
        """Stop: the chunks still queued are not written, the run's version never becomes current."""
        self.aborted.set()
        self.items.put(None)

    def finish(self, finalize: Callable[[Session], None]) -> None:
        """After the last chunks: run ``finalize`` (the switch) in a short transaction of its own and commit."""
        self.items.put(finalize)

    def run(self) -> None:
        state = self.state
        try:
            while True:
                item = self.items.get()
                self.active_at = time.monotonic()
                if item is None or self.aborted.is_set():
                    return
                if isinstance(item, ResultBuffer):
                    write_chunks(state, item)
                    continue
                with session_scope() as session:
                    locks.bound_lock_waits(session, locks.STREAM_LOCK_TIMEOUT_S)
                    item(session)
                    if self.aborted.is_set():  # given up on while it finished: the run is failed, nothing is switched
                        session.rollback()
                        return
                self.committed = True
                return
        except BaseException as exc:  # noqa: BLE001 - reported by the job as the run's failure
            timed_out = locks.lock_timeout(exc)
            self.failure = RuntimeError(locks.locked_reason(locks.STREAM_LOCK_TIMEOUT_S)) if timed_out else exc


def write_chunks(state: RunState_, votes: ResultBuffer) -> None:
    """``votes`` stored under the run's version, in one short transaction (nobody reads them before the switch).

    Records deleted after the pass read them are left out: a record delete no longer waits for the whole run (it
    waits for one chunk write), so the chunk is written again without the records that are gone."""
    session = new_session()
    try:
        locks.bound_lock_waits(session, locks.STREAM_LOCK_TIMEOUT_S)
        cursor = session.connection().connection.cursor()
        try:
            store_results(cursor, state.project_id, state.task_id, state.source_id, votes, version_id=state.run_id)
        except Exception as exc:
            if getattr(exc, "pgcode", None) != FOREIGN_KEY_VIOLATION or "names record" not in str(exc):
                raise
            session.rollback()
            locks.bound_lock_waits(session, locks.STREAM_LOCK_TIMEOUT_S)
            kept = existing_records(session, state.project_id, votes)
            cursor = session.connection().connection.cursor()
            store_results(cursor, state.project_id, state.task_id, state.source_id, votes.only(kept), state.run_id)
        session.commit()
    finally:
        session.rollback()
        session.close()


def existing_records(session: Session, project_id: uuid.UUID, votes: ResultBuffer) -> set[int]:
    """Which records of ``votes`` still exist; record deletes of the project wait for this transaction from now on
    (the project's lock, shared, as the insert check takes it)."""
    session.execute(
        text("SELECT pg_advisory_xact_lock_shared(:c, hashtext(CAST(:p AS text)))"), {"c": LOCK_CLASS, "p": project_id}
    )
    ids = sorted(votes.record_ids())
    found = session.scalars(
        text("SELECT id FROM record WHERE project_id = :p AND id = ANY(CAST(:ids AS bigint[]))"), {"p": project_id, "ids": ids}
    )
    return {int(i) for i in found}


def collect_all(states: dict[str, RunState_]) -> None:
    """:func:`collect` for the heuristic of each run (after the runs are finished or failed)."""
    for source_id in {state.source_id for state in states.values()}:
        collect(source_id)


def collect(source_id: uuid.UUID) -> None:
    """Remove the heuristic's versions no reader sees (after a switch or a failure); a failure here is only logged
    (the next run's collection removes what is left)."""
    try:
        collect_garbage(new_session, source_id, locks.STREAM_LOCK_TIMEOUT_S)
    except Exception:  # noqa: BLE001 - garbage only: the results readers see are not affected
        log.warning("collecting superseded heuristic results failed", exc_info=True, extra={"source": str(source_id)})


def start_streams(states: list[RunState_]) -> list[RunState_]:
    """A result stream for each of the first :data:`MAX_STREAMS` runs of ``states`` (those runs are returned)."""
    streamed = states[:MAX_STREAMS]
    for state in streamed:
        state.stream = ResultStream(state)
        state.stream.start()
    return streamed


def end_streams(streamed: list[RunState_], abort: bool = True) -> None:
    """Wait for the stream threads (stopping the ones not yet finished when ``abort``: their versions never become
    current).

    A stream is waited for while it works through its chunks; one that started no statement for longer than a lock
    wait can last (plus a margin) is given up on: it switches nothing when it returns, its run failed with the reason.
    """
    stall_s = locks.STREAM_LOCK_TIMEOUT_S + locks.JOIN_TIMEOUT_S
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


def store_all(states: dict[str, RunState_], streamed: list[RunState_], seconds: float, claim: Job | None) -> None:
    """Store the results of every run that has not failed (a run whose storing fails gets its ``error``)."""
    for state in states.values():
        if state.error is None and state.checker.invalid_count:
            state.error = state.checker.summary()
    for state in streamed:  # the streamed runs: the last chunks, then the switch in a short transaction of its own
        if state.error is None:
            state.hand_over(final=True)
            assert state.stream is not None
            state.stream.finish(partial(finalize, state=state, seconds=seconds, claim=claim))
        else:
            state.drop_stream()
    buffered = [state for state in states.values() if state.error is None and state not in streamed]
    # Each buffered run stores its chunks and switches; several at once keep Postgres's cores busy.
    with ThreadPoolExecutor(max_workers=min(4, max(1, len(buffered)))) as pool:
        list(pool.map(lambda state: store_or_fail(state, seconds, claim), buffered))
    end_streams(streamed, abort=False)
    for state in streamed:
        assert state.stream is not None
        if state.error is None and not state.stream.committed:
            state.error = f"storing the results failed: {state.stream.failure}"


def store_or_fail(state: RunState_, seconds: float, claim: Job | None) -> None:
    """:func:`store`; an error fails this run only (its version never becomes current, the previous results stay)."""
    try:
        store(state, seconds, claim)
    except Exception as exc:  # noqa: BLE001 - named in the run's error
        timed_out = locks.lock_timeout(exc)
        reason = locks.locked_reason(locks.STREAM_LOCK_TIMEOUT_S) if timed_out else f"{type(exc).__name__}: {exc}"
        state.error = f"storing the results failed: {reason}"
        state.log(now_line(state.error))


def store(state: RunState_, seconds: float, claim: Job | None) -> None:
    """Store the run's votes under its version (a short transaction per chunk), then make it current, finish the run
    and ask for its statistics in one short transaction."""
    for part in state.votes.parts():
        write_chunks(state, part)
    with session_scope() as session:
        locks.bound_lock_waits(session, locks.STREAM_LOCK_TIMEOUT_S)
        finalize(session, state, seconds, claim)


def finalize(session: Session, state: RunState_, seconds: float, claim: Job | None) -> None:
    """Make the run's version current, mark the run finished and ask for its statistics (one short transaction);
    nothing is committed when the job is no longer this worker's (the reaper failed it meanwhile: its runs are
    failed)."""
    if claim is not None:
        ensure_claimed(session, claim)
    run = session.get(HeuristicRun, state.run_id)
    if run is None:
        raise RuntimeError("the run was deleted while it ran")
    switch_version(session, state.source_id, state.run_id)
    state.log(now_line(f"finished: {state.row_count} labels on {state.records_hit} records in {seconds:.2f} s"))
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


def finish_failed(states: dict[str, RunState_]) -> None:
    """Mark the runs with an error failed (the previous results are kept)."""
    with session_scope() as session:
        for state in states.values():
            if state.error is None:
                continue
            run = session.get(HeuristicRun, state.run_id)
            if run is None or run.state in (RunState.FINISHED, RunState.FAILED):
                continue
            state.log(now_line("failed; the previous results are kept"))
            run.state = RunState.FAILED
            run.error = state.error[:20_000]
            run.finished_at = datetime.now(UTC)
            run.logs = state.log_copy()


def finish_all(states: dict[str, RunState_], final: RunState, note: str) -> None:
    """Mark every run ``final`` (e.g. cancelled), ``note`` in its logs (the previous results are kept)."""
    with session_scope() as session:
        for state in states.values():
            run = session.get(HeuristicRun, state.run_id)
            if run is None:
                continue
            state.log(now_line(f"{note}; the previous results are kept"))
            run.state = final
            run.finished_at = datetime.now(UTC)
            run.logs = state.log_copy()
