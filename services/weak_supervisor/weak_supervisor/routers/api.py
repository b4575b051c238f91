"""``/fit_predict`` (a synchronous run for small tasks) and ``/statistics/{task_id}``."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from shared_model.service import problem

from ..runs import compute_statistics, run_weak_supervision, stored_statistics
from ..store import BadRequest, NotFound
from ..watcher import enqueue_statistics

router = APIRouter(tags=["weak supervision"])


class FitPredictIn(BaseModel):
    labeling_task_id: uuid.UUID
    model: str = "auto"
    heuristic_ids: list[uuid.UUID] | None = None
    min_confidence: float = Field(0.0, ge=0.0, le=1.0)
    precision_overrides: dict[str, float] = Field(default_factory=dict)
    seed: int = 0
    use_older_results: bool = False


def _call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    except NotFound as exc:
        raise problem(404, str(exc)) from exc
    except BadRequest as exc:
        raise problem(400, str(exc)) from exc


@router.post("/fit_predict")
def fit_predict(body: FitPredictIn) -> dict[str, Any]:
    """Run weak supervision now and return the run summary."""
    params = body.model_dump(mode="json")
    return dict(_call(run_weak_supervision, body.labeling_task_id, params))


@router.post("/statistics/{labeling_task_id}")
def recompute_statistics(labeling_task_id: uuid.UUID) -> list[dict[str, Any]]:
    """Recompute and store the statistics of the task's heuristics."""
    return list(_call(compute_statistics, labeling_task_id))


@router.get("/statistics/{labeling_task_id}")
def get_statistics(labeling_task_id: uuid.UUID) -> list[dict[str, Any]]:
    """The stored statistics of the task's heuristics."""
    return stored_statistics(labeling_task_id)


class EnqueueIn(BaseModel):
    project_id: uuid.UUID
    source_id: uuid.UUID | None = None


@router.post("/statistics/{labeling_task_id}/enqueue")
def enqueue(labeling_task_id: uuid.UUID, body: EnqueueIn) -> dict[str, str]:
    """Queue a recomputation (deduplicated with a queued one)."""
    return {"job_id": str(enqueue_statistics(labeling_task_id, body.project_id, body.source_id))}
