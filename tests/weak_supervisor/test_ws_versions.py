"""Weak-supervision labels kept per run behind a pointer (migration 0023, real Postgres): a run writes its version in
short transactions nobody reads, one short transaction switches it current, superseded versions are collected, and a
run that fails or is killed mid-write leaves the previous labels fully visible."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime

import numpy as np
import pytest
from sqlalchemy import select, text

from shared_model import weak_supervision_results as weak_results
from shared_model.db import new_session, session_scope
from shared_model.models import Label, LabelingTask, Record, RunState, TaskType, WeakSupervisionRun, WeakSupervisionVersion
from weak_supervisor.runs import run_weak_supervision
from weak_supervisor.store import load_task, write_weak_labels

from .fixtures import Built, build_task, weak_labels

N = 240


def _task() -> Built:
    """A multi-class task of N records: two heuristics that agree on most records."""
    a = [(i, "pos" if i % 3 else "neg") for i in range(N)]
    b = [(i, "pos" if i % 5 else "neg") for i in range(0, N, 2)]
    return build_task(TaskType.MULTICLASS_CLASSIFICATION, ["pos", "neg"], N, {"a": a, "b": b})


def _running_run(built: Built) -> uuid.UUID:
    """A weak-supervision run row in state RUNNING: its version is the run's id (not collected while it runs)."""
    with session_scope() as s:
        run = WeakSupervisionRun(project_id=built.project_id, labeling_task_id=built.task_id, state=RunState.RUNNING)
        s.add(run)
        s.flush()
        weak_results.begin_version(s, built.task_id, run.id)
        return run.id


def _mark(run_id: uuid.UUID, state: RunState) -> None:
    with session_scope() as s:
        run = s.get(WeakSupervisionRun, run_id)
        assert run is not None
        run.state, run.finished_at = state, datetime.now(UTC)


def _all_negative(built: Built) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows, labels and confidences of a different result: every record 'neg' at 0.5."""
    with session_scope() as s:
        task = load_task(s, built.task_id)
    neg = task.label_ids.index(built.labels["neg"])
    return np.arange(N, dtype=np.int64), np.full(N, neg, dtype=np.int64), np.full(N, 0.5)


def test_a_new_run_is_invisible_until_one_short_switch_and_the_old_version_is_collected() -> None:
    built = _task()
    first = run_weak_supervision(built.task_id, {"model": "majority"})
    before = weak_labels(built.task_id)
    assert len(before) > N // 2 and any(label == built.labels["pos"] for _, label, *_ in before)
    run_id = _running_run(built)
    with session_scope() as s:
        task = load_task(s, built.task_id)
    seen_while_writing: list[bool] = []

    def between_chunks(done: int) -> None:  # every chunk is committed, but readers still see the old labels
        seen_while_writing.append(weak_labels(built.task_id) == before)

    rows, labels, confidence = _all_negative(built)
    assert write_weak_labels(task, run_id, rows, labels, confidence, chunk_rows=50, after_chunk=between_chunks) == N
    assert seen_while_writing == [True] * 5  # 240 records, 50 a chunk
    with session_scope() as s:
        assert weak_results.version_row_count(s, run_id) == N  # all written, none visible
    assert weak_labels(built.task_id) == before
    with session_scope() as s:
        started = time.perf_counter()
        label_rows = text("SELECT count(*), max(xmin::text::bigint) FROM weak_supervision_result")
        rows_before = tuple(s.execute(label_rows).one())
        weak_results.switch_version(s, built.task_id, run_id)
        assert tuple(s.execute(label_rows).one()) == rows_before  # no label row written or rewritten
        switch_s = time.perf_counter() - started
    assert switch_s < 0.5
    after = weak_labels(built.task_id)
    assert len(after) == N and {(r[1], r[2]) for r in after} == {(built.labels["neg"], 0.5)}
    _mark(run_id, RunState.FINISHED)
    old = uuid.UUID(first["run_id"])
    with session_scope() as s:
        assert weak_results.garbage_versions(s, built.task_id) == [old]
    assert weak_results.collect_garbage(new_session, built.task_id) == len(before)
    with session_scope() as s:
        assert weak_results.version_row_count(s, old) == 0 and s.get(WeakSupervisionVersion, old) is None
        assert weak_results.garbage_versions(s, built.task_id) == []
    assert weak_labels(built.task_id) == after


def test_a_finished_run_switches_and_collects_the_run_before_it() -> None:
    built = _task()
    first = run_weak_supervision(built.task_id, {"model": "majority"})
    second = run_weak_supervision(built.task_id, {"model": "majority", "min_confidence": 0.99})
    with session_scope() as s:
        assert weak_results.current_version(s, built.task_id) == uuid.UUID(second["run_id"])
        assert weak_results.version_row_count(s, uuid.UUID(first["run_id"])) == 0  # collected by the run
        versions = set(
            s.scalars(select(WeakSupervisionVersion.id).where(WeakSupervisionVersion.labeling_task_id == built.task_id))
        )
    assert versions == {uuid.UUID(second["run_id"])}
    assert len(weak_labels(built.task_id)) == second["labels_written"]


def test_a_run_failing_mid_write_leaves_the_previous_labels_and_its_rows_are_collected() -> None:
    built = _task()
    run_weak_supervision(built.task_id, {"model": "majority"})
    before = weak_labels(built.task_id)
    run_id = _running_run(built)
    with session_scope() as s:
        task = load_task(s, built.task_id)

    def fail(done: int) -> None:
        if done >= 100:
            raise RuntimeError("the writer fails after two chunks")

    with pytest.raises(RuntimeError):
        write_weak_labels(task, run_id, *_all_negative(built), chunk_rows=50, after_chunk=fail)
    assert weak_labels(built.task_id) == before
    with session_scope() as s:
        assert weak_results.version_row_count(s, run_id) == 100  # written, never current
        assert weak_results.garbage_versions(s, built.task_id) == []  # the run is still RUNNING: not collected
    _mark(run_id, RunState.FAILED)
    assert weak_results.collect_garbage(new_session, built.task_id) == 100
    assert weak_labels(built.task_id) == before


KILLED_WRITER = """
import os, signal, sys, uuid
import numpy as np
from shared_model.db import session_scope
from weak_supervisor.store import load_task, write_weak_labels
task_id, run_id, neg, n = uuid.UUID(sys.argv[1]), uuid.UUID(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
with session_scope() as s:
    task = load_task(s, task_id)
def kill(done):
    if done >= 100:
        os.kill(os.getpid(), signal.SIGKILL)
write_weak_labels(task, run_id, np.arange(n, dtype=np.int64), np.full(n, neg, dtype=np.int64), np.full(n, 0.5),
                  chunk_rows=50, after_chunk=kill)
"""


def test_a_writer_killed_mid_write_leaves_the_previous_labels_fully_visible() -> None:
    built = _task()
    run_weak_supervision(built.task_id, {"model": "majority"})
    before = weak_labels(built.task_id)
    run_id = _running_run(built)
    with session_scope() as s:
        neg = load_task(s, built.task_id).label_ids.index(built.labels["neg"])
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_WRITER, str(built.task_id), str(run_id), str(neg), str(N)],
        env=os.environ.copy(),
        capture_output=True,
        timeout=120,
    )
    assert killed.returncode == -9, killed.stderr.decode()
    assert weak_labels(built.task_id) == before
    with session_scope() as s:
        assert weak_results.version_row_count(s, run_id) == 100
        assert weak_results.current_version(s, built.task_id) != run_id
    _mark(run_id, RunState.FAILED)  # as the job's reaper marks a run whose process died
    assert weak_results.collect_garbage(new_session, built.task_id) == 100
    assert weak_labels(built.task_id) == before


def test_record_label_and_task_deletes_reach_every_version() -> None:
    built = _task()
    run_weak_supervision(built.task_id, {"model": "majority"})
    run_id = _running_run(built)
    with session_scope() as s:
        task = load_task(s, built.task_id)
    write_weak_labels(task, run_id, *_all_negative(built), chunk_rows=100)
    gone = built.records[:10]
    with session_scope() as s:
        s.execute(text("DELETE FROM record WHERE id = ANY(:ids)"), {"ids": gone})
        assert s.scalar(text("SELECT count(*) FROM weak_supervision_result WHERE record_id = ANY(:ids)"), {"ids": gone}) == 0
        assert weak_results.version_row_count(s, run_id) == N - 10
    with session_scope() as s:  # a label delete takes it out of every version's rows (records left without labels go)
        s.delete(s.get(Label, built.labels["neg"]))
    with session_scope() as s:
        assert weak_results.version_row_count(s, run_id) == 0
        left = s.execute(
            text("SELECT label_ids, weak FROM weak_supervision_result WHERE labeling_task_id = :t"), {"t": built.task_id}
        ).all()
        assert left and {(tuple(ids), tuple(weak)) for ids, weak in left} == {
            ((built.labels["pos"],), (f"{built.labels['pos']}:-1:-1",))
        }
    with session_scope() as s:
        s.delete(s.get(LabelingTask, built.task_id))
    with session_scope() as s:
        assert (
            s.scalar(text("SELECT count(*) FROM weak_supervision_result WHERE labeling_task_id = :t"), {"t": built.task_id}) == 0
        )
        assert (
            s.scalar(text("SELECT count(*) FROM weak_supervision_version WHERE labeling_task_id = :t"), {"t": built.task_id}) == 0
        )


def test_a_writer_skips_records_deleted_while_the_run_worked() -> None:
    built = _task()
    run_id = _running_run(built)
    with session_scope() as s:
        task = load_task(s, built.task_id)  # the run read every record
        s.execute(text("DELETE FROM record WHERE id = ANY(:ids)"), {"ids": built.records[:5]})
    rows, labels, confidence = _all_negative(built)
    assert write_weak_labels(task, run_id, rows, labels, confidence) == N - 5
    with session_scope() as s:
        stored = set(s.scalars(text("SELECT record_id FROM weak_supervision_result WHERE version_id = :v"), {"v": run_id}))
        existing = set(s.scalars(select(Record.id).where(Record.project_id == built.project_id)))
    assert stored == existing and len(stored) == N - 5
