"""The ``snapshot_import`` job: create a project from a stored snapshot file, all or nothing, then remove the file."""

from __future__ import annotations

import asyncio
import logging
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from shared_model import manual_vs_weak
from shared_model.db import new_session, session_scope
from shared_model.jobs import JobContext, JobFailed, enqueue
from shared_model.models import InformationSource, Job, LabelingTask, WeakSupervisionCurrent
from shared_model.service import ProblemError
from shared_model.settings import get_settings

from ..clients import ServiceClient
from ..domain.snapshot.importer import import_snapshot
from ..domain.snapshot.reading import SnapshotError, read_snapshot
from ..domain.snapshot.tokenizer import TokenizerChoice, choose_tokenizer

log = logging.getLogger("gateway.snapshot_import")


def run_snapshot_import(ctx: JobContext) -> dict[str, Any]:
    """Parameters: ``path`` (the stored file), ``filename`` (as uploaded), ``user_id``, ``name`` (optional override).

    The project, its member, data and the tokenize job are written in one transaction which also sets the job's
    ``project_id``; any problem fails the job and leaves no project behind.
    """
    params = ctx.parameters
    path = Path(params["path"])
    with session_scope() as session:  # a retried job whose import already committed: nothing more to do
        done = session.scalar(select(Job.project_id).where(Job.id == ctx.job.id))
    if done is not None:
        path.unlink(missing_ok=True)
        return {"project_id": str(done)}
    if not path.exists():
        raise JobFailed(f"{params['filename']}: the stored snapshot is gone (was the job retried after it finished?)")
    try:
        ctx.progress(0.0, f"reading {params['filename']}", force=True)
        data = read_snapshot(path, params["filename"], get_settings().upload_max_bytes)
        note = params.get("tokenizer_note")
        choice = TokenizerChoice(**params["tokenizer"]) if params.get("tokenizer") else None
        if params.get("check_tokenizer"):  # a big snapshot: its details were first read here
            choice = asyncio.run(choose_tokenizer(data["project_details_data"].get("tokenizer")))
        user_id = uuid.UUID(params["user_id"]) if params.get("user_id") else None
        models = asyncio.run(_embedding_models())
        with session_scope() as session:
            result = import_snapshot(
                session,
                data,
                user_id=user_id,
                name=params.get("name"),
                progress=ctx.progress,
                tokenizer_note=note,
                tokenizer=choice,
                embedding_models=models,
            )
            ctx.check_cancelled()
            # last: this locks the job row until the commit, so no progress report may follow it
            session.execute(update(Job).where(Job.id == ctx.job.id).values(project_id=uuid.UUID(result["project_id"])))
        result["statistics"] = asyncio.run(_statistics(uuid.UUID(result["project_id"])))
        _browser_figures(uuid.UUID(result["project_id"]))
        return result
    except SnapshotError as exc:
        raise JobFailed(f"{params['filename']}: {exc.detail}") from None
    finally:
        path.unlink(missing_ok=True)


def _browser_figures(project_id: uuid.UUID) -> None:
    """The data browser's figures of the imported weak-supervision labels (each task's differ flags and confusion
    matrix, the project card's count), computed now as a weak-supervision run's job does after its switch; a failure
    leaves them to the first request that needs them."""
    with session_scope() as session:
        versions = session.execute(
            select(WeakSupervisionCurrent.labeling_task_id, WeakSupervisionCurrent.version_id)
            .join(LabelingTask, LabelingTask.id == WeakSupervisionCurrent.labeling_task_id)
            .where(LabelingTask.project_id == project_id)
        ).all()
    for task_id, version in versions:
        try:
            manual_vs_weak.refresh_after_switch(new_session, task_id, version)
        except Exception:  # noqa: BLE001
            log.warning("snapshot import: the browser's figures of task %s are left to its first request", task_id, exc_info=True)


async def _embedding_models() -> list[str] | None:
    """The names of the models this installation's embedder offers; None when it cannot be asked."""
    try:
        answer = await ServiceClient("embedder", retries=1).json("GET", "/models")
    except ProblemError as exc:
        log.warning("snapshot import: the embedder's models are unknown (%s)", exc.detail)
        return None
    return [str(model["name"]) for model in answer.get("models", [])]


async def _statistics(project_id: uuid.UUID) -> str:
    """Compute the imported heuristics' statistics now, so that they are there when the job ends (the weak
    supervisor's synchronous route); when it cannot be reached, queue them instead, and say which happened."""
    with session_scope() as session:
        task_ids = sorted(
            set(session.scalars(select(InformationSource.labeling_task_id).where(InformationSource.project_id == project_id)))
        )
    client = ServiceClient("weak_supervisor", retries=1)
    try:
        for task_id in task_ids:
            await client.json("POST", f"/statistics/{task_id}")
    except ProblemError as exc:
        log.warning("snapshot import: statistics queued, the weak supervisor did not compute them (%s)", exc.detail)
        with session_scope() as session:
            for task_id in task_ids:
                enqueue(
                    session,
                    kind="heuristic_statistics",
                    owner_service="weak_supervisor",
                    project_id=project_id,
                    parameters={"labeling_task_id": str(task_id), "source_id": None},
                )
        return f"queued: {exc.detail}"
    return "computed" if task_ids else "none (no heuristics)"
