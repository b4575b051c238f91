"""The ``project_delete`` job: remove a project and, by cascade, everything in it."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import delete, func, select, update

from shared_model.db import session_scope
from shared_model.jobs import JobContext, JobFailed
from shared_model.models import Embedding, EmbeddingType, Project, ProjectStatus, Record
from shared_model.service import ProblemError
from shared_model.storage import EmbeddingArtifacts, WeakSupervisionArtifacts, get_storage

from ..clients import ServiceClient


def delete_project(ctx: JobContext) -> dict[str, Any]:
    """Delete the records in chunks (with progress), then the project row (cascading to all else), then its files in
    object storage (embedding vectors, weak-supervision probabilities). The neural-search collections go first: if that
    service cannot be reached the job fails and nothing is deleted (run it again later)."""
    project_id = ctx.job.project_id
    with session_scope() as session:
        total = session.scalar(select(func.count()).select_from(Record).where(Record.project_id == project_id)) or 0
        embeddings = session.execute(select(Embedding.id, Embedding.type).where(Embedding.project_id == project_id)).all()
    embedding_ids = [e.id for e in embeddings]
    for embedding_id, kind in embeddings:
        if kind == EmbeddingType.ON_ATTRIBUTE:
            try:
                asyncio.run(ServiceClient("neural_search").json("DELETE", f"/embeddings/{embedding_id}"))
            except ProblemError as exc:
                with session_scope() as session:  # visible again, so the user can delete it once the service is back
                    session.execute(update(Project).where(Project.id == project_id).values(status=ProjectStatus.READY))
                message = f"the project is kept: the search collection of embedding {embedding_id} could not be dropped"
                raise JobFailed(f"{message} ({exc.detail})") from exc
    deleted = 0
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
    storage = get_storage()
    files = sum(EmbeddingArtifacts(storage, e).delete() for e in embedding_ids)
    files += WeakSupervisionArtifacts(storage, project_id).delete()
    return {"deleted_records": deleted, "deleted_files": files}
