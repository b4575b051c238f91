"""Run rows follow their job: the reaper, a crash, a cancellation or a job that ended without them end them too."""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from shared_model import jobs
from shared_model.db import session_scope
from shared_model.models import (
    Attribute,
    AttributeState,
    DataType,
    Embedding,
    EmbeddingType,
    HeuristicRun,
    HeuristicType,
    InformationSource,
    Job,
    JobState,
    Project,
    ProjectStatus,
    RunState,
    WeakSupervisionRun,
)
from shared_model.run_state import RUN_ROWS
from shared_model.settings import get_settings

from ..executor.factory import Data, add_records, add_task, new_project


@pytest.fixture()
def max_attempts() -> Iterator[Callable[[int], None]]:
    """Set ``REFINERY_JOB_MAX_ATTEMPTS`` for one test; the setting and its cache are restored afterwards."""
    saved = os.environ.get("REFINERY_JOB_MAX_ATTEMPTS")

    def set_to(n: int) -> None:
        os.environ["REFINERY_JOB_MAX_ATTEMPTS"] = str(n)
        get_settings.cache_clear()

    yield set_to
    if saved is None:
        os.environ.pop("REFINERY_JOB_MAX_ATTEMPTS", None)
    else:
        os.environ["REFINERY_JOB_MAX_ATTEMPTS"] = saved
    get_settings.cache_clear()


@pytest.fixture()
def data(clean_db: str) -> Data:
    data = add_records(new_project("run state"), ["a", "b"])
    add_task(data, "kind", ["x", "y"])
    return data


def _source(data: Data) -> uuid.UUID:
    with session_scope() as session:
        source = InformationSource(
            project_id=data.project_id,
            labeling_task_id=data.tasks["kind"],
            type=HeuristicType.LABELING_FUNCTION,
            name=f"lf-{uuid.uuid4().hex[:6]}",
            source_code="def lf(record):\n    return 'x'\n",
        )
        session.add(source)
        session.flush()
        return source.id


def _job(kind: str, project_id: uuid.UUID | None = None, **parameters: Any) -> Job:
    with session_scope() as session:
        job = jobs.enqueue(session, kind=kind, owner_service="svc", project_id=project_id, parameters=parameters)
        session.expunge(job)
    return job


def heuristic_run(data: Data) -> tuple[Job, type[Any], uuid.UUID]:
    source_id = _source(data)
    with session_scope() as session:
        run = HeuristicRun(project_id=data.project_id, source_id=source_id, state=RunState.RUNNING)
        session.add(run)
        session.flush()
        run_id = run.id
    job = _job("heuristic_run", run_ids=[str(run_id)])
    with session_scope() as session:
        session.execute(update(HeuristicRun).where(HeuristicRun.id == run_id).values(job_id=job.id))
    return job, HeuristicRun, run_id


def weak_supervision_run(data: Data) -> tuple[Job, type[Any], uuid.UUID]:
    run_id = uuid.uuid4()
    job = _job("weak_supervision", run_id=str(run_id), labeling_task_id=str(data.tasks["kind"]))
    with session_scope() as session:
        session.add(
            WeakSupervisionRun(
                id=run_id, project_id=data.project_id, labeling_task_id=data.tasks["kind"], job_id=job.id, state=RunState.RUNNING
            )
        )
    return job, WeakSupervisionRun, run_id


def embedding(data: Data) -> tuple[Job, type[Any], uuid.UUID]:
    with session_scope() as session:
        attribute_id = session.query(Attribute.id).filter_by(project_id=data.project_id, name="text").scalar()
        row = Embedding(
            project_id=data.project_id,
            attribute_id=attribute_id,
            name=f"e-{uuid.uuid4().hex[:6]}",
            type=EmbeddingType.ON_ATTRIBUTE,
            state=RunState.RUNNING,
            model="tf-idf",
        )
        session.add(row)
        session.flush()
        embedding_id = row.id
    return _job("embed", embedding_id=str(embedding_id)), Embedding, embedding_id


def calculated_attribute(data: Data) -> tuple[Job, type[Any], uuid.UUID]:
    with session_scope() as session:
        row = Attribute(
            project_id=data.project_id,
            name=f"calc-{uuid.uuid4().hex[:6]}",
            data_type=DataType.TEXT,
            relative_position=5,
            user_created=True,
            source_code="def ac(record):\n    return 'v'\n",
            state=AttributeState.RUNNING,
            logs=["queued"],
        )
        session.add(row)
        session.flush()
        attribute_id = row.id
    return _job("attribute_calculation", attribute_id=str(attribute_id)), Attribute, attribute_id


def deleting_project(data: Data) -> tuple[Job, type[Any], uuid.UUID]:
    with session_scope() as session:
        session.execute(update(Project).where(Project.id == data.project_id).values(status=ProjectStatus.IN_DELETION))
    return _job("project_delete", project_id=data.project_id), Project, data.project_id


MAKERS: dict[str, Callable[[Data], tuple[Job, type[Any], uuid.UUID]]] = {
    "project_delete": deleting_project,
    "heuristic_run": heuristic_run,
    "weak_supervision": weak_supervision_run,
    "embed": embedding,
    "attribute_calculation": calculated_attribute,
}


def _row(model: type[Any], row_id: uuid.UUID) -> Any:
    with session_scope() as session:
        row = session.get(model, row_id)
        assert row is not None
        session.expunge(row)
        return row


def _stale(job_id: uuid.UUID) -> None:
    with session_scope() as session:
        session.execute(update(Job).where(Job.id == job_id).values(heartbeat_at=datetime.now(UTC) - timedelta(minutes=10)))


def _reason(row: Any) -> str:
    return " ".join(filter(None, [getattr(row, "error", None), *(getattr(row, "logs", None) or [])]))


def _failed(kind: str, row: Any) -> bool:
    """Whether the row is in its kind's "failed" state (a project whose deletion failed is shown again)."""
    rows = RUN_ROWS[kind]
    return bool(getattr(row, rows.state_column) == rows.failed)


def _shows(kind: str, row: Any, reason: str) -> bool:
    rows = RUN_ROWS[kind]
    return reason in _reason(row) if rows.error_column or rows.logs_column else True  # a project shows no reason


def test_every_kind_with_run_rows_is_covered() -> None:
    assert set(MAKERS) | {"zero_shot"} == set(RUN_ROWS)


@pytest.mark.parametrize("kind", sorted(MAKERS))
def test_the_reaper_fails_the_run_of_a_job_it_gives_up_on(data: Data, kind: str, max_attempts: Callable[[int], None]) -> None:
    max_attempts(1)
    job, model, row_id = MAKERS[kind](data)
    assert jobs.claim("svc", [kind], "svc@elsewhere:1") is not None
    _stale(job.id)
    assert jobs.reap_stale("svc") == [job.id]
    reaped = jobs.wait_for_job(job.id, 1)
    assert reaped.state == JobState.FAILED and reaped.error is not None
    row = _row(model, row_id)
    assert _failed(kind, row)
    assert _shows(kind, row, "svc@elsewhere:1 stopped reporting")
    if hasattr(row, "finished_at"):
        assert row.finished_at is not None


def test_a_requeued_job_puts_its_runs_back_in_the_queue_and_a_dead_worker_is_reaped_at_once(
    data: Data, max_attempts: Callable[[int], None]
) -> None:
    max_attempts(2)
    job, model, run_id = heuristic_run(data)
    dead = f"svc@{socket.gethostname()}:999999999"  # no such process
    assert jobs.claim("svc", ["heuristic_run"], dead) is not None
    assert jobs.reap_stale("svc") == []  # its heartbeat is fresh ...
    assert jobs.gone_workers("svc") == [dead]  # ... but its process is gone
    assert jobs.reap_stale("svc", gone_workers=[dead]) == [job.id]
    run = _row(model, run_id)
    assert run.state == RunState.QUEUED
    assert f"requeued: the svc worker {dead} died while it ran this job" in run.logs[-1]
    assert jobs.claim("svc", ["heuristic_run"], "w2") is not None  # the second attempt dies too: now it fails
    assert jobs.reap_stale("svc", gone_workers=["w2"]) == [job.id]
    run = _row(model, run_id)
    assert run.state == RunState.FAILED and run.error is not None and "gave up after 2 attempt(s)" in run.error


def test_cancelling_a_queued_job_cancels_its_runs(data: Data) -> None:
    job, model, run_id = heuristic_run(data)
    with session_scope() as session:
        session.execute(update(HeuristicRun).where(HeuristicRun.id == run_id).values(state=RunState.QUEUED))
        row = session.get(Job, job.id)
        assert row is not None
        jobs.request_cancel(session, row)
    assert _row(model, run_id).state == RunState.CANCELLED


@pytest.mark.parametrize("kind", sorted(MAKERS))
def test_a_handler_that_crashes_or_forgets_its_run_leaves_no_run_in_progress(data: Data, kind: str) -> None:
    job, model, row_id = MAKERS[kind](data)

    def crash(ctx: jobs.JobContext) -> None:
        raise RuntimeError("the final write broke")

    worker = jobs.JobWorker("svc", {kind: crash})
    claimed = jobs.claim("svc", [kind], worker.name)
    assert claimed is not None
    worker.run_job(claimed)
    row = _row(model, row_id)
    assert _failed(kind, row) and _shows(kind, row, "RuntimeError: the final write broke")

    job, model, row_id = MAKERS[kind](data)
    worker = jobs.JobWorker("svc", {kind: lambda ctx: {"ok": True}})  # "done", but the row was never finished
    claimed = jobs.claim("svc", [kind], worker.name)
    assert claimed is not None
    worker.run_job(claimed)
    assert jobs.wait_for_job(job.id, 1).state == JobState.DONE
    row = _row(model, row_id)
    assert _failed(kind, row) and _shows(kind, row, f"its {kind} job ended without finishing it")


def test_a_handler_whose_job_was_reaped_cannot_finish_it(data: Data, max_attempts: Callable[[int], None]) -> None:
    max_attempts(1)
    job, model, run_id = heuristic_run(data)
    started, release = threading.Event(), threading.Event()
    outcome: dict[str, Any] = {}

    def slow(ctx: jobs.JobContext) -> dict[str, Any]:
        started.set()
        release.wait(10)
        with session_scope() as session:  # as a handler's final transaction does
            try:
                assert ctx.claim is not None
                jobs.ensure_claimed(session, ctx.claim)
                session.execute(update(HeuristicRun).where(HeuristicRun.id == run_id).values(state=RunState.FINISHED))
            except jobs.JobLost as exc:
                outcome["lost"] = str(exc)
                raise
        return {}

    worker = jobs.JobWorker("svc", {"heuristic_run": slow})
    claimed = jobs.claim("svc", ["heuristic_run"], worker.name)
    assert claimed is not None
    thread = threading.Thread(target=worker.run_job, args=(claimed,))
    thread.start()
    assert started.wait(10)
    _stale(job.id)
    assert jobs.reap_stale("svc") == [job.id]
    release.set()
    thread.join(10)
    assert "no longer this worker's" in outcome["lost"]
    final = jobs.wait_for_job(job.id, 1)
    assert final.state == JobState.FAILED and final.error is not None and "stopped reporting" in final.error
    run = _row(model, run_id)
    assert run.state == RunState.FAILED and run.error == final.error


def test_a_reaped_job_whose_cancellation_was_requested_is_cancelled_with_its_runs(data: Data) -> None:
    job, model, run_id = heuristic_run(data)
    assert jobs.claim("svc", ["heuristic_run"], "svc@elsewhere:1") is not None
    with session_scope() as session:
        row = session.get(Job, job.id)
        assert row is not None
        jobs.request_cancel(session, row)
    _stale(job.id)
    assert jobs.reap_stale("svc") == [job.id]
    reaped = jobs.wait_for_job(job.id, 1)
    assert reaped.state == JobState.CANCELLED and "svc@elsewhere:1 stopped reporting" in reaped.message
    assert _row(model, run_id).state == RunState.CANCELLED
