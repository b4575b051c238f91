"""Weak supervision: start a run (a job of the weak_supervisor), read run summaries and heuristic statistics."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from shared_model import jobs
from shared_model.models import HeuristicStatistics, InformationSource, Job, Label, LabelingTask, RunState, WeakSupervisionRun
from shared_model.service import problem
from shared_model.service.crud import get_in_project

from ..deps import CurrentUser, ProjectDep, SessionDep
from ..schemas import JobOut, ORMModel, RequestModel

router = APIRouter(prefix="/api/v1/projects/{project_id}", tags=["weak supervision"])


class WeakSupervisionIn(RequestModel):
    labeling_task_id: uuid.UUID
    model: Literal["auto", "refinery", "majority", "generative", "semi", "dawid_skene", "semi_em"] = Field(
        "auto", description="label model; docs/weak-supervision.md explains each and when it wins"
    )
    extraction_model: Literal["spans", "hmm"] = Field(
        "spans",
        description="extraction tasks: the reference's span aggregation (spans) or a hidden Markov model over BIO tags (hmm)",
    )
    heuristic_ids: list[uuid.UUID] | None = Field(None, description="default: the task's selected heuristics")
    min_confidence: float = Field(0.0, ge=0.0, le=1.0, description="no label is written below this confidence")
    precision_overrides: dict[uuid.UUID, float] = Field(default_factory=dict, description="heuristic id → precision")
    seed: int = Field(0, ge=0, lt=2**32, description="random seed of the models that use one")
    use_older_results: bool = Field(
        False,
        description="also use heuristics whose latest run did not finish, with the results of their last finished run"
        " (by default they are skipped); the run's summary lists every heuristic considered, used or not, and why",
    )


class RunOut(ORMModel):
    id: uuid.UUID
    labeling_task_id: uuid.UUID | None
    job_id: uuid.UUID | None
    state: str
    options: dict[str, Any]
    summary: dict[str, Any]
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class StartedRun(BaseModel):
    run_id: uuid.UUID
    job: JobOut


class StatisticsOut(BaseModel):
    source_id: uuid.UUID
    heuristic_name: str
    label_id: uuid.UUID
    label_name: str
    true_positives: int
    false_positives: int
    false_negatives: int
    record_coverage: int
    total_hits: int
    source_conflicts: int
    source_overlaps: int
    est_precision: float | None
    est_recall: float | None
    updated_at: datetime


def project_task(session: Session, project_id: uuid.UUID, task_id: uuid.UUID) -> LabelingTask:
    return get_in_project(session, LabelingTask, task_id, project_id, "labeling task")


@router.post("/weak-supervision", response_model=StartedRun, status_code=202)
def start_run(body: WeakSupervisionIn, project: ProjectDep, user: CurrentUser, session: SessionDep) -> dict[str, Any]:
    """Queue a weak-supervision run; its labels replace the task's previous ones when it finishes."""
    task = project_task(session, project.id, body.labeling_task_id)
    sources = {
        row.id: row.is_selected
        for row in session.execute(
            select(InformationSource.id, InformationSource.is_selected).where(InformationSource.labeling_task_id == task.id)
        )
    }
    chosen = body.heuristic_ids if body.heuristic_ids is not None else [s for s, selected in sources.items() if selected]
    unknown = [str(s) for s in chosen if s not in sources]
    if unknown:
        raise problem(400, f"heuristics {', '.join(unknown)} do not belong to labeling task {task.id}")
    if not chosen:
        raise problem(400, f"labeling task '{task.name}' has no selected heuristics: select or name at least one")
    stray = [str(s) for s in body.precision_overrides if s not in chosen]
    if stray:
        raise problem(400, f"precision_overrides name heuristics not used in this run: {', '.join(stray)}")
    bad = [str(s) for s, p in body.precision_overrides.items() if not 0.0 <= p <= 1.0]
    if bad:
        raise problem(422, f"precision_overrides must lie in [0, 1]: {', '.join(bad)}")
    run = WeakSupervisionRun(
        id=uuid.uuid4(), project_id=project.id, labeling_task_id=task.id, state=RunState.QUEUED, created_by=user.id
    )
    params = body.model_dump(mode="json")
    params["heuristic_ids"] = [str(s) for s in chosen]
    params["run_id"] = str(run.id)
    run.options = params
    session.add(run)
    job = jobs.enqueue(
        session,
        kind="weak_supervision",
        owner_service="weak_supervisor",
        project_id=project.id,
        parameters=params,
        created_by=user.id,
    )
    run.job_id = job.id
    session.flush()
    return {"run_id": run.id, "job": job}


@router.get("/weak-supervision/runs/{run_id}", response_model=RunOut)
def get_run(run_id: uuid.UUID, project: ProjectDep, session: SessionDep) -> WeakSupervisionRun:
    """One run with its summary (model used, label distribution, coverage, mean confidence, duration)."""
    return get_in_project(session, WeakSupervisionRun, run_id, project.id, "weak-supervision run")


@router.get("/labeling-tasks/{task_id}/weak-supervision", response_model=RunOut)
def latest_run(task_id: uuid.UUID, project: ProjectDep, session: SessionDep) -> WeakSupervisionRun:
    """The task's latest weak-supervision run."""
    task = project_task(session, project.id, task_id)
    run = session.scalars(
        select(WeakSupervisionRun)
        .where(WeakSupervisionRun.labeling_task_id == task.id)
        .order_by(WeakSupervisionRun.created_at.desc())
        .limit(1)
    ).first()
    if run is None:
        raise problem(404, f"labeling task {task_id} has no weak-supervision run yet")
    return run


@router.get("/labeling-tasks/{task_id}/heuristic-statistics", response_model=list[StatisticsOut])
def task_statistics(task_id: uuid.UUID, project: ProjectDep, session: SessionDep) -> list[dict[str, Any]]:
    """Per heuristic and label: est. precision and recall, coverage, hits, conflicts and overlaps."""
    task = project_task(session, project.id, task_id)
    query = (
        select(HeuristicStatistics, InformationSource.name, Label.name)
        .join(InformationSource, InformationSource.id == HeuristicStatistics.source_id)
        .join(Label, Label.id == HeuristicStatistics.label_id)
        .where(InformationSource.labeling_task_id == task.id)
        .order_by(InformationSource.name, Label.name)
    )
    out = []
    for stats, source_name, label_name in session.execute(query):
        tp, fp, fn = stats.true_positives, stats.false_positives, stats.false_negatives
        out.append(
            {
                "source_id": stats.source_id,
                "heuristic_name": source_name,
                "label_id": stats.label_id,
                "label_name": label_name,
                "true_positives": tp,
                "false_positives": fp,
                "false_negatives": fn,
                "record_coverage": stats.record_coverage,
                "total_hits": stats.total_hits,
                "source_conflicts": stats.source_conflicts,
                "source_overlaps": stats.source_overlaps,
                "est_precision": tp / (tp + fp) if tp + fp else None,
                "est_recall": tp / (tp + fn) if tp + fn else None,
                "updated_at": stats.updated_at,
            }
        )
    return out


@router.post("/labeling-tasks/{task_id}/heuristic-statistics", response_model=JobOut, status_code=202)
def recompute_statistics(task_id: uuid.UUID, project: ProjectDep, user: CurrentUser, session: SessionDep) -> Job:
    """Queue a recomputation of the task's statistics (a queued one is reused: calls are debounced)."""
    task = project_task(session, project.id, task_id)
    queued = session.scalars(
        select(Job)
        .where(Job.kind == "heuristic_statistics", Job.state == "queued", text("job.parameters->>'labeling_task_id' = :t"))
        .params(t=str(task.id))
        .limit(1)
    ).first()
    if queued is not None:
        return queued
    return jobs.enqueue(
        session,
        kind="heuristic_statistics",
        owner_service="weak_supervisor",
        project_id=project.id,
        parameters={"labeling_task_id": str(task.id), "source_id": None},
        created_by=user.id,
    )
