"""Heuristic results versioned per run (migration 0011), in-process on the real database and sandbox: a run's chunks
commit one by one under its own version and stay unseen until the run finishes and switches the pointer; no
transaction lives longer than one chunk write; a cancelled run leaves the previous results whole and its chunks are
collected; a record deleted while a run writes does not wait for the run, and does not fail it."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

from sqlalchemy import text, update

from shared_model.db import session_scope
from shared_model.jobs import JobCancelled, JobContext
from shared_model.models import InformationSource, Job, RunState

from .factory import Data
from .test_full_runs import N, create, data, job_module, last_state, queue_job, results

__all__ = ["data"]  # the fixture, shared with test_full_runs

EXACT = 'def lf(record):\n    return "exact"\n'
SLOW_OTHER = 'import time\n\ndef lf(record):\n    time.sleep(0.25)\n    return "other"\n'

# The age of the oldest open transaction of this test's database other than the poller's own and the pass's record
# reader (one COPY that streams the records while the pass runs; it writes nothing). Only client connections count:
# autovacuum and autoanalyze workers (busy on a fresh database) are Postgres's own, not the executor's.
OLDEST_TRANSACTION = text(
    "SELECT coalesce(max(extract(epoch FROM clock_timestamp() - xact_start)), 0) FROM pg_stat_activity"
    " WHERE datname = current_database() AND pid <> pg_backend_pid() AND xact_start IS NOT NULL"
    " AND backend_type = 'client backend' AND query NOT ILIKE 'COPY%'"
)


def set_code(source: uuid.UUID, code: str) -> None:
    with session_scope() as session:
        session.execute(update(InformationSource).where(InformationSource.id == source).values(source_code=code))


def chunks(source: uuid.UUID) -> dict[uuid.UUID, int]:
    """Chunk counts of the heuristic's versions (current or not)."""
    with session_scope() as session:
        rows = session.execute(
            text("SELECT version_id, count(*) FROM heuristic_result_chunk WHERE source_id = :s GROUP BY version_id"),
            {"s": source},
        ).tuples()
        return {version: int(n) for version, n in rows}


def current_version(source: uuid.UUID) -> uuid.UUID | None:
    with session_scope() as session:
        value = session.scalar(text("SELECT version_id FROM heuristic_result_current WHERE source_id = :s"), {"s": source})
        return None if value is None else uuid.UUID(str(value))


class Background:
    """The job handler in a thread of its own (as the executor runs it)."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self.run_id = uuid.UUID(str(job.parameters["run_ids"][0]))
        self.outcome: dict[str, Any] = {}
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.outcome["result"] = job_module.heuristic_run(JobContext(self.job, min_interval_s=0.0))
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            self.outcome["error"] = exc

    def wait_for_chunks(self, source: uuid.UUID, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while chunks(source).get(self.run_id, 0) < 2:
            assert self.thread.is_alive(), self.outcome
            assert time.monotonic() < deadline, "the run wrote no chunks"
            time.sleep(0.05)

    def join(self, timeout_s: float = 60.0) -> dict[str, Any]:
        self.thread.join(timeout_s)
        assert not self.thread.is_alive(), f"the run did not end within {timeout_s} s"
        return self.outcome


def test_a_run_is_current_only_once_it_finished_and_no_transaction_outlives_a_chunk(data: Data) -> None:
    source = create(data, "h", EXACT)
    assert job_module.heuristic_run(JobContext(queue_job(data, source), min_interval_s=0.0))
    first = results(source)
    assert len(first) == N
    old_version = current_version(source)
    assert old_version is not None and list(chunks(source)) == [old_version]

    set_code(source, SLOW_OTHER)  # about 5 s: 21 records, 0.25 s each
    started = time.monotonic()
    run = Background(queue_job(data, source))
    oldest = 0.0
    seen_unfinished = 0
    with session_scope() as session:
        while run.thread.is_alive():
            session.commit()  # each poll in a transaction of its own
            oldest = max(oldest, float(session.scalar(OLDEST_TRANSACTION) or 0))
            if chunks(source).get(run.run_id, 0):
                # results first, then the state: the pointer switch and the run's end commit together, so a run still
                # RUNNING after the read means the read saw the previous version
                seen = results(source)
                if last_state(source)[0] == RunState.RUNNING:
                    assert seen == first  # the new run's committed chunks are not seen
                    seen_unfinished += 1
            time.sleep(0.1)
    seconds = time.monotonic() - started
    assert "error" not in run.join(), run.outcome
    assert seen_unfinished > 5  # the new run's chunks were committed long before it finished
    assert seconds > 4 and oldest < 2.0, (seconds, oldest)  # each transaction: one chunk (or one report)

    assert last_state(source)[0] == RunState.FINISHED
    assert current_version(source) == run.run_id
    labels = {label for _, _, label in results(source)}
    assert labels == {data.labels["kind"]["other"]} and len(results(source)) == N
    assert list(chunks(source)) == [run.run_id]  # the superseded version was collected


def test_a_cancelled_run_leaves_the_previous_results_and_its_chunks_are_collected(data: Data) -> None:
    source = create(data, "h", EXACT)
    job_module.heuristic_run(JobContext(queue_job(data, source), min_interval_s=0.0))
    first, version = results(source), current_version(source)
    set_code(source, SLOW_OTHER)
    run = Background(queue_job(data, source))
    run.wait_for_chunks(source)
    with session_scope() as session:
        session.execute(update(Job).where(Job.id == run.job.id).values(cancel_requested=True))
    assert isinstance(run.join().get("error"), JobCancelled)
    assert last_state(source)[0] == RunState.CANCELLED
    assert results(source) == first and current_version(source) == version
    assert list(chunks(source)) == [version]  # the cancelled run's chunks are gone


def test_a_record_deleted_while_a_run_writes_neither_waits_for_it_nor_fails_it(data: Data) -> None:
    source = create(data, "h", SLOW_OTHER)
    run = Background(queue_job(data, source))
    run.wait_for_chunks(source)
    gone = data.record_ids[-1]  # not yet labeled: its chunk is written after the delete
    with session_scope() as session:
        session.execute(text("DELETE FROM record WHERE id = :r"), {"r": gone})
    assert run.thread.is_alive()  # the delete committed while the run went on
    assert "error" not in run.join(), run.outcome
    assert last_state(source)[0] == RunState.FINISHED
    assert [record for _, record, _ in results(source)] == data.record_ids[:-1]
