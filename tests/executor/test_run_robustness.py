"""Full heuristic runs that meet locks, a dead record reader, failing stores and late cancellations: each ends in
bounded time with the right states (real database, real sandbox; lock waits shortened)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg2
import pytest
from sqlalchemy import update

from executor import record_batches, runs
from executor.jobs import heuristic_run_locks, heuristic_run_state, heuristic_run_store
from executor.result_checks import LabelChecker
from shared_model.db import dsn, session_scope
from shared_model.jobs import JobCancelled, JobContext, JobFailed
from shared_model.models import InformationSource, Job, RunState

from .factory import Data
from .test_full_runs import N, create, data, job_module, last_state, queue_job, results

__all__ = ["data"]  # the fixture, shared with test_full_runs

OTHER = 'def lf(record):\n    return "other"\n'
EXACT = 'def lf(record):\n    return "exact"\n'


@pytest.fixture(autouse=True)
def short_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(heuristic_run_locks, "REPORT_LOCK_TIMEOUT_S", 0.3)
    monkeypatch.setattr(heuristic_run_locks, "STREAM_LOCK_TIMEOUT_S", 0.5)
    monkeypatch.setattr(heuristic_run_locks, "JOIN_TIMEOUT_S", 1.0)


def run_bounded(job: Job, seconds: float = 15.0) -> tuple[dict[str, Any] | None, BaseException | None]:
    """The handler in a thread; fails the test if it has not ended after ``seconds`` (instead of hanging)."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["result"] = job_module.heuristic_run(JobContext(job, min_interval_s=0.0))
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            outcome["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"the run did not end within {seconds} s"
    return outcome.get("result"), outcome.get("error")


class Holder:
    """A transaction of its own that holds row locks until released."""

    def __init__(self) -> None:
        self.connection = psycopg2.connect(dsn())

    def lock(self, sql: str, *args: Any) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute(sql, args)

    def release(self) -> None:
        if not self.connection.closed:
            self.connection.rollback()
            self.connection.close()


@pytest.fixture()
def holder() -> Iterator[Holder]:
    held = Holder()
    yield held
    held.release()


def test_a_locked_job_row_does_not_hang_the_run(data: Data, holder: Holder) -> None:
    """Progress reports wait at most a few seconds for the job row (a gateway request may hold it)."""
    source = create(data, "every", OTHER)
    job = queue_job(data, source)
    holder.lock("SELECT id FROM job WHERE id = %s FOR UPDATE", str(job.id))
    result, error = run_bounded(job)
    assert error is None and result is not None
    assert last_state(source)[0] == RunState.FINISHED and len(results(source)) == N


def test_a_stream_stuck_on_a_lock_fails_its_run_with_the_reason(data: Data, holder: Holder) -> None:
    source = create(data, "every", OTHER)
    assert run_bounded(queue_job(data, source))[1] is None
    before = results(source)
    holder.lock("SELECT id FROM heuristic_result WHERE source_id = %s FOR UPDATE", str(source))
    # the run succeeds in the sandbox, but its stream cannot delete the previous results
    _, error = run_bounded(queue_job(data, source))
    assert isinstance(error, JobFailed) and "locked by another transaction" in str(error)
    state, reason = last_state(source)
    assert state == RunState.FAILED and reason is not None and "locked by another transaction" in reason
    # the failure path (the code raises) does not wait on the stuck stream either
    with session_scope() as session:
        raising = "def lf(r):\n    1 / 0\n"
        session.execute(update(InformationSource).where(InformationSource.id == source).values(source_code=raising))
    _, error = run_bounded(queue_job(data, source))
    assert isinstance(error, JobFailed) and "ZeroDivisionError" in str(error)
    holder.release()
    assert results(source) == before


def test_a_failed_store_of_a_buffered_run_fails_only_that_run(
    data: Data, holder: Holder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(heuristic_run_store, "MAX_STREAMS", 1)  # "streamed" streams; "locked" and "plain" are stored at the end
    streamed, locked, plain = create(data, "streamed", OTHER), create(data, "locked", OTHER), create(data, "plain", EXACT)
    assert run_bounded(queue_job(data, locked))[1] is None
    before = results(locked)
    holder.lock("SELECT id FROM heuristic_result WHERE source_id = %s FOR UPDATE", str(locked))
    _, error = run_bounded(queue_job(data, streamed, locked, plain))
    assert isinstance(error, JobFailed) and "locked:" in str(error) and "streamed" not in str(error)
    assert [last_state(s)[0] for s in (streamed, locked, plain)] == [RunState.FINISHED, RunState.FAILED, RunState.FINISHED]
    assert "locked by another transaction" in (last_state(locked)[1] or "")
    assert len(results(streamed)) == len(results(plain)) == N
    holder.release()
    assert results(locked) == before


def test_a_cancel_seen_by_the_last_report_rolls_back(data: Data, monkeypatch: pytest.MonkeyPatch) -> None:
    """The pass is over before anything but the reporter's last report reads the job: the runs must not commit."""
    monkeypatch.setattr(runs, "BATCH_SIZE", 2000)  # one batch: on_batch never sees a report
    source = create(data, "every", OTHER)
    job = queue_job(data, source)
    with session_scope() as session:
        session.execute(update(Job).where(Job.id == job.id).values(cancel_requested=True))

    class Quiet(JobContext):  # the pass's own polling while it waits is not what this test is about
        def check_cancelled(self) -> None:
            return None

    with pytest.raises(JobCancelled):
        job_module.heuristic_run(Quiet(job, min_interval_s=0.0))
    assert last_state(source)[0] == RunState.CANCELLED and results(source) == []


def test_a_reader_that_cannot_connect_fails_instead_of_hanging(data: Data, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(record_batches, "dsn", lambda: "host=127.0.0.1 port=1 dbname=none connect_timeout=2")
    failure: list[BaseException] = []

    def consume() -> None:
        try:
            list(record_batches.raw_record_batches(data.project_id, 4))
        except BaseException as exc:  # noqa: BLE001 - checked below
            failure.append(exc)

    thread = threading.Thread(target=consume, daemon=True)
    thread.start()
    thread.join(10)
    assert not thread.is_alive() and len(failure) == 1 and isinstance(failure[0], psycopg2.OperationalError)


def test_waiting_for_the_reader_polls_for_cancellation(data: Data, holder: Holder) -> None:
    holder.lock("LOCK TABLE record IN ACCESS EXCLUSIVE MODE")  # the reader's COPY waits
    calls: list[float] = []

    def poll() -> None:
        calls.append(time.monotonic())
        holder.release()
        raise JobCancelled()

    stream = record_batches.raw_record_batches(data.project_id, 4, poll)
    started = time.monotonic()
    with pytest.raises(JobCancelled):
        next(stream)
    assert len(calls) == 1 and calls[0] - started < 3


def test_progress_is_one_line_that_leaves_room_for_real_logs() -> None:
    state = job_module.RunState_(uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), "f", LabelChecker({}, False), uuid.uuid4(), False)
    state.log("started")
    for i in range(heuristic_run_state.MAX_LOG_LINES + 100):
        state.progress(f"{i} records")
        if i == 10:
            state.log("printed by the user")
    state.log("finished")
    assert state.logs == ["started", "printed by the user", f"{heuristic_run_state.MAX_LOG_LINES + 99} records", "finished"]
    assert state.log_chars == sum(map(len, state.logs))
