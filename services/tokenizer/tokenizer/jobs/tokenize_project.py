"""The ``tokenize_project`` job: store an up-to-date DocBin for every record of a project."""

from __future__ import annotations

import time
from typing import Any

from shared_model.db import session_scope
from shared_model.jobs import JobContext, JobFailed

from ..pipelines import UnknownTokenizer
from ..tokenize import NotFound, project_target, tokenize_stale_records
from ..workers import WorkerCrashed


def run_tokenize_project(ctx: JobContext) -> dict[str, Any]:
    """Tokenize the records without an up-to-date DocBin (all of them after a tokenizer change), in chunks."""
    if ctx.job.project_id is None:
        raise JobFailed("a tokenize_project job needs a project")
    started = time.perf_counter()
    try:
        with session_scope() as session:
            target = project_target(session, ctx.job.project_id)
        ctx.progress(0.0, f"tokenizing with {target.tokenizer!r}", force=True)
        if not target.columns:
            return {"tokenized": 0, "tokenizer": target.tokenizer, "columns": [], "seconds": 0.0}

        def progress(done: int, total: int) -> None:
            ctx.progress(done / max(total, 1), f"tokenized {done} of {total} records")

        run = tokenize_stale_records(target, progress)
    except (UnknownTokenizer, NotFound, WorkerCrashed) as exc:
        raise JobFailed(str(exc)) from None
    seconds = time.perf_counter() - started
    return {
        "tokenized": run.stored,
        "tokenizer": target.tokenizer,
        "columns": target.columns,
        "seconds": round(seconds, 3),
        "processes": run.processes,
        "worker_chunks": run.worker_chunks,
        "runner": run.runner,
    }
