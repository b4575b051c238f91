"""Jobs the weak_supervisor runs: ``weak_supervision`` and ``heuristic_statistics``."""

from __future__ import annotations

import uuid
from typing import Any

from shared_model.jobs import Handler, JobContext, JobFailed

from ..runs import compute_statistics, run_weak_supervision
from ..store import BadRequest, NotFound


def _task_id(parameters: dict[str, Any]) -> uuid.UUID:
    try:
        return uuid.UUID(str(parameters["labeling_task_id"]))
    except (KeyError, ValueError) as exc:
        raise JobFailed("parameters.labeling_task_id must be a labeling task id") from exc


def weak_supervision(ctx: JobContext) -> dict[str, Any]:
    """Fit a label model for a task and replace its weak-supervision labels."""
    params = ctx.parameters
    run_id = uuid.UUID(params["run_id"]) if params.get("run_id") else None
    try:
        return run_weak_supervision(
            _task_id(params), params, run_id=run_id, job_id=ctx.job.id, progress=lambda f, msg: ctx.progress(f, msg)
        )
    except (BadRequest, NotFound) as exc:
        raise JobFailed(str(exc)) from exc


def heuristic_statistics(ctx: JobContext) -> dict[str, Any]:
    """Recompute the statistics of every heuristic of a task (after a heuristic run or manual labels changed)."""
    try:
        rows = compute_statistics(_task_id(ctx.parameters))
    except NotFound as exc:
        raise JobFailed(str(exc)) from exc
    return {"statistics": len(rows), "source_id": ctx.parameters.get("source_id")}


HANDLERS: dict[str, Handler] = {"weak_supervision": weak_supervision, "heuristic_statistics": heuristic_statistics}
