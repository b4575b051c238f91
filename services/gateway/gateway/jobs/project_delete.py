"""The ``project_delete`` job: remove a project and, by cascade, everything in it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select

from shared_model.db import session_scope
from shared_model.jobs import JobContext
from shared_model.models import Embedding, Project, Record
from shared_model.storage import EmbeddingArtifacts, WeakSupervisionArtifacts, get_storage


def delete_project(ctx: JobContext) -> dict[str, Any]:
    """Delete the records in chunks (with progress), then the project row (cascading to all else), then its files in
    object storage (embedding vectors, weak-supervision probabilities)."""
    project_id = ctx.job.project_id
    with session_scope() as session:
        total = session.scalar(select(func.count()).select_from(Record).where(Record.project_id == project_id)) or 0
        embedding_ids = list(session.scalars(select(Embedding.id).where(Embedding.project_id == project_id)))
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
