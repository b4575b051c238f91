"""Deleting the records a filter selects: at once up to :data:`INLINE_MAX` records, else as a ``records_delete`` job.

The job deletes what the filter selects when it runs, among the records that existed when it was asked for (ids up
to the largest id then), so records uploaded meanwhile are never deleted; it deletes in chunks of :data:`CHUNK`
records, each its own transaction, with progress. A record's labels, tokens, embedding tensors, slice memberships
and heuristic votes go with it (foreign keys and the vote trigger); its comments are deleted with it.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import and_, delete, func, select
from sqlalchemy.orm import Session

from shared_model.db import session_scope
from shared_model.jobs import JobContext
from shared_model.models import Comment, CommentTarget, Record

from .compile import ProjectCatalog
from .filters import FilterGroup
from .search import matching, tune

INLINE_MAX = 10_000
CHUNK = 20_000


def delete_chunk(session: Session, catalog: ProjectCatalog, group: FilterGroup | None, max_id: int, limit: int) -> int:
    """Delete up to ``limit`` of the filter's records with ids up to ``max_id``; how many were deleted."""
    tune(session)
    ids = list(
        session.scalars(select(Record.id).where(matching(catalog, group), Record.id <= max_id).order_by(Record.id).limit(limit))
    )
    if not ids:
        return 0
    session.execute(
        delete(Comment).where(
            and_(
                Comment.project_id == catalog.project_id,
                Comment.target_type == CommentTarget.RECORD,
                Comment.target_id.in_([str(i) for i in ids]),
            )
        )
    )
    session.execute(delete(Record).where(Record.id.in_(ids)))
    return len(ids)


def largest_id(session: Session, project_id: uuid.UUID) -> int:
    return int(session.scalar(select(func.coalesce(func.max(Record.id), 0)).where(Record.project_id == project_id)) or 0)


def run_records_delete(ctx: JobContext) -> dict[str, Any]:
    """The ``records_delete`` job (parameters: ``filter``, ``max_id``, ``expected``, ``user_id``)."""
    params = ctx.job.parameters
    project_id = ctx.job.project_id
    assert project_id is not None
    group = FilterGroup.model_validate(params["filter"]) if params.get("filter") else None
    user_id = uuid.UUID(params["user_id"]) if params.get("user_id") else None
    expected = int(params.get("expected") or 0)
    deleted = 0
    while True:
        with session_scope() as session:
            catalog = ProjectCatalog.load(session, project_id, user_id)
            n = delete_chunk(session, catalog, group, int(params["max_id"]), CHUNK)
        if n == 0:
            break
        deleted += n
        ctx.progress(min(deleted / max(expected, 1), 1.0) * 0.99, f"deleted {deleted} of about {expected} records")
    return {"deleted_records": deleted}
