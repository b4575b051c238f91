"""Storing the results of a ``heuristic_run`` pass: each run's results replace its heuristic's previous ones only
when that run succeeds, in one transaction that also marks the run finished and asks for its statistics.

The first runs of a pass stream their results while the pass runs (:class:`ResultStream`); the others are stored at
the end (:func:`store_or_fail`). Failed or cancelled runs are marked so by :func:`finish_failed` / :func:`finish_all`.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from functools import partial

from sqlalchemy.orm import Session

from shared_model.db import new_session, session_scope
from shared_model.heuristic_results import ResultBuffer, delete_results, store_results
from shared_model.jobs import enqueue, ensure_claimed
from shared_model.models import HeuristicRun, Job, RunState

from . import heuristic_run_locks as locks
from .heuristic_run_state import RunState_, now_line

log = logging.getLogger("executor.jobs.heuristic_run")

MAX_STREAMS = 12  # heuristics whose results are written while the pass runs (one connection each); the rest at the end


class ResultStream(threading.Thread):
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
            locks.bound_lock_waits(session, locks.STREAM_LOCK_TIMEOUT_S)
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
            timed_out = locks.lock_timeout(exc)
            self.failure = RuntimeError(locks.locked_reason(locks.STREAM_LOCK_TIMEOUT_S)) if timed_out else exc
        finally:
            if not self.committed:
                session.rollback()
            session.close()


def start_streams(states: list[RunState_]) -> list[RunState_]:
    """A result stream for each of the first :data:`MAX_STREAMS` runs of ``states`` (those runs are returned)."""
    streamed = states[:MAX_STREAMS]
    for state in streamed:
        state.stream = ResultStream(state)
        state.stream.start()
    return streamed


def end_streams(streamed: list[RunState_], abort: bool = True) -> None:
    """Wait for the stream threads (rolling back the ones not yet finished when ``abort``).

    A stream is waited for while it works through its rows; one that started no statement for longer than a lock
    wait can last (plus a margin) is given up on: rolled back when it returns, its run failed with the reason.
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
    for state in streamed:  # the streamed runs: the last rows, then finish in the same transaction (or roll back)
        if state.error is None:
            state.hand_over(final=True)
            assert state.stream is not None
            state.stream.finish(partial(finalize, state=state, seconds=seconds, claim=claim))
        else:
            state.drop_stream()
    buffered = [state for state in states.values() if state.error is None and state not in streamed]
    # Each buffered run stores in its own transaction; several at once keep Postgres's cores busy.
    with ThreadPoolExecutor(max_workers=min(4, max(1, len(buffered)))) as pool:
        list(pool.map(lambda state: store_or_fail(state, seconds, claim), buffered))
    end_streams(streamed, abort=False)
    for state in streamed:
        assert state.stream is not None
        if state.error is None and not state.stream.committed:
            state.error = f"storing the results failed: {state.stream.failure}"


def store_or_fail(state: RunState_, seconds: float, claim: Job | None) -> None:
    """:func:`store`; an error fails this run only (its transaction is rolled back, the previous results stay)."""
    try:
        store(state, seconds, claim)
    except Exception as exc:  # noqa: BLE001 - named in the run's error
        timed_out = locks.lock_timeout(exc)
        reason = locks.locked_reason(locks.STREAM_LOCK_TIMEOUT_S) if timed_out else f"{type(exc).__name__}: {exc}"
        state.error = f"storing the results failed: {reason}"
        state.log(now_line(state.error))


def store(state: RunState_, seconds: float, claim: Job | None) -> None:
    """Replace the heuristic's results, finish the run and ask for its statistics, all in one transaction."""
    with session_scope() as session:
        locks.bound_lock_waits(session, locks.STREAM_LOCK_TIMEOUT_S)
        delete_results(session, state.source_id)
        cursor = session.connection().connection.cursor()
        store_results(cursor, state.project_id, state.task_id, state.source_id, state.votes)
        finalize(session, state, seconds, claim)


def finalize(session: Session, state: RunState_, seconds: float, claim: Job | None) -> None:
    """Mark the run finished and ask for its statistics (in the transaction that stored its results); nothing is
    committed when the job is no longer this worker's (the reaper failed it meanwhile: its runs are failed)."""
    if claim is not None:
        ensure_claimed(session, claim)
    run = session.get(HeuristicRun, state.run_id)
    if run is None:
        raise RuntimeError("the run was deleted while it ran")
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
