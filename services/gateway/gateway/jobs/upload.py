"""The ``upload`` job: load a stored upload into its project, all or nothing, then remove the stored file."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from shared_model.db import session_scope
from shared_model.jobs import JobContext, JobFailed, enqueue, enqueue_in
from shared_model.settings import get_settings

from ..domain.upload import UploadError, UploadPlan, load_upload


def run_upload(ctx: JobContext) -> dict[str, Any]:
    """Parameters: ``path`` (the stored file), ``filename`` (as uploaded), ``format``, ``delimiter``, ``user_id``."""
    params = ctx.parameters
    settings = get_settings()
    path = Path(params["path"])
    if ctx.job.project_id is None:
        raise JobFailed("an upload job needs a project")
    if not path.exists():
        raise JobFailed(f"{params['filename']}: the stored upload is gone (was the job retried after it finished?)")
    plan = UploadPlan(
        project_id=ctx.job.project_id,
        user_id=uuid.UUID(params["user_id"]) if params.get("user_id") else None,
        path=path,
        filename=params["filename"],
        fmt=params["format"],
        delimiter=params.get("delimiter", ","),
        max_columns=settings.upload_max_columns,
        chunk_rows=settings.upload_chunk_rows,
    )
    ctx.progress(0.0, f"reading {plan.filename}", force=True)
    try:

        def finish(cursor: Any, result: dict[str, Any]) -> None:
            # the new records' tokens (incremental), queued and the job's end written in the records' transaction
            if ctx.claim is not None:
                enqueue_in(cursor, kind="tokenize_project", owner_service="tokenizer", project_id=plan.project_id)
            ctx.finish_in(cursor, result)

        result = load_upload(plan, lambda fraction, message: ctx.progress(fraction, message), finish)
        if ctx.finished_with is None:  # handed to the handler directly (no claim): queue the tokens on its own
            with session_scope() as session:
                enqueue(session, kind="tokenize_project", owner_service="tokenizer", project_id=plan.project_id)
        return result
    except UploadError as exc:
        raise JobFailed(exc.detail) from None
    finally:
        path.unlink(missing_ok=True)
