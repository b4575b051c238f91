"""The ``project_delete`` job: remove a project and, by cascade, everything in it."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy import delete, func, select

from shared_model.db import session_scope
from shared_model.jobs import JobCancelled, JobContext, JobFailed
from shared_model.models import Embedding, EmbeddingType, HeuristicResultChunk, Project, Record
from shared_model.service import ProblemError
from shared_model.storage import EmbeddingArtifacts, WeakSupervisionArtifacts, get_storage

from ..clients import ServiceClient

log = logging.getLogger("gateway")


def delete_project(ctx: JobContext) -> dict[str, Any]:
    """Drop the project's search collections, delete its records in chunks (with progress), then the project row
    (cascading to all else), then its files in object storage (embedding vectors, weak-supervision probabilities).

    Until the project row is gone a failure (a killed gateway too) makes the project visible again with the reason, so
    the user can delete it again (every step is idempotent; ``shared_model.run_state`` shows it again); files that
    cannot be removed afterwards are logged and counted, not fatal.
    """
    project_id = ctx.job.project_id
    with session_scope() as session:
        total = session.scalar(select(func.count()).select_from(Record).where(Record.project_id == project_id)) or 0
        embeddings = session.execute(select(Embedding.id, Embedding.type).where(Embedding.project_id == project_id)).all()
    collections = [e.id for e in embeddings if e.type == EmbeddingType.ON_ATTRIBUTE]
    deleted = 0
    try:
        if collections:
            _drop_collections(collections)
        with session_scope() as session:  # first: else each batch of records below is also taken out of these arrays
            session.execute(delete(HeuristicResultChunk).where(HeuristicResultChunk.project_id == project_id))
        while True:
            with session_scope() as session:
                ids = select(Record.id).where(Record.project_id == project_id).limit(50_000).scalar_subquery()
                n = len(session.execute(delete(Record).where(Record.id.in_(ids)).returning(Record.id)).all())
            deleted += n
            if n == 0:
                break
            ctx.progress(deleted / max(total, 1) * 0.95, f"deleted {deleted} of {total} records")
        with session_scope() as session:
            session.execute(delete(Project).where(Project.id == project_id))
    except JobCancelled:  # the project is shown again when the job ends (shared_model.run_state)
        raise
    except Exception as exc:
        reason = exc.detail if isinstance(exc, ProblemError) else f"{type(exc).__name__}: {exc}"
        done = f" ({deleted} of {total} records were deleted)" if deleted else " (nothing was deleted)"
        raise JobFailed(f"the project is kept{done}, delete it again: {reason}") from exc
    files, left = 0, 0
    storage = get_storage()
    folders: list[EmbeddingArtifacts | WeakSupervisionArtifacts] = [EmbeddingArtifacts(storage, e.id) for e in embeddings]
    folders.append(WeakSupervisionArtifacts(storage, project_id))
    for artifacts in folders:
        try:
            files += artifacts.delete()
        except Exception:  # noqa: BLE001 - the project is gone; leftover files must not fail the job
            left += 1
            log.warning("could not remove the files under %s of deleted project %s", artifacts.prefix, project_id, exc_info=True)
    result: dict[str, Any] = {"deleted_records": deleted, "deleted_files": files}
    if left:
        result["file_folders_left"] = left
    return result


def _drop_collections(embedding_ids: list[Any]) -> None:
    """Drop the embeddings' search collections; first make sure neural search answers, so a service that is down
    fails the job before anything is dropped."""
    client = ServiceClient("neural_search")
    health = asyncio.run(client.health())
    if health.get("status") == "unreachable":
        raise ProblemError(503, f"the similarity-search collections cannot be dropped: {health.get('detail')}")
    for embedding_id in embedding_ids:
        asyncio.run(client.json("DELETE", f"/embeddings/{embedding_id}"))
