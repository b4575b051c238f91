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
from shared_model.models import (
    HeuristicRun,
    HeuristicStatistics,
    HeuristicType,
    InformationSource,
    Job,
    Label,
    LabelingTask,
    RunState,
    WeakSupervisionRun,
)
from shared_model.service import problem
from shared_model.service.crud import get_in_project

from ..deps import CurrentUser, ProjectDep, SessionDep
from ..domain.ws_quality import QualityOut, run_quality, task_quality
from ..policies import Action, allow
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
    created_by: uuid.UUID | None = Field(None, description="the user who started the run")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    quality: QualityOut | None = Field(
        None,
        description="accuracy and per-label precision/recall cross-validated on the manual labels (k-fold: never on "
        "labels the model was fitted on), with the number of labels and a 95 % interval; or why there is none",
    )


def _run_out(session: Session, run: WeakSupervisionRun) -> RunOut:
    out = RunOut.model_validate(run)
    out.quality = run_quality(session, run)
    return out


class StartedRun(BaseModel):
    run_id: uuid.UUID
    job: JobOut


HeuristicStatus = Literal["ok", "no_hits", "never_run", "running", "last_run_failed", "no_results"]


class StatisticsOut(BaseModel):
    """One row per heuristic and label it gave (or was wrong about); a heuristic without such a row (no hits, never
    run, last run failed) still gets ONE row, with ``label_id`` null and zero counts, so every heuristic is listed."""

    source_id: uuid.UUID
    heuristic_name: str
    heuristic_type: str
    status: HeuristicStatus = Field(
        description="ok; no_hits (its current results label nothing); never_run; running (queued or running now); "
        "last_run_failed (its latest run failed: counts, if any, are of older results); no_results (pre-computed, "
        "none posted yet)"
    )
    last_run_state: str | None = Field(description="state of the heuristic's latest run (null: never run)")
    last_run_error: str | None
    last_run_finished_at: datetime | None
    label_id: uuid.UUID | None
    label_name: str | None
    true_positives: int
    false_positives: int
    false_negatives: int
    record_coverage: int
    total_hits: int
    source_conflicts: int
    source_overlaps: int
    est_precision: float | None
    est_recall: float | None
    updated_at: datetime | None


def project_task(session: Session, project_id: uuid.UUID, task_id: uuid.UUID) -> LabelingTask:
    return get_in_project(session, LabelingTask, task_id, project_id, "labeling task")


@router.post("/weak-supervision", response_model=StartedRun, status_code=202, dependencies=[allow(Action.EDIT_PROJECT)])
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


@router.get("/weak-supervision/runs/{run_id}", response_model=RunOut, dependencies=[allow(Action.READ_HEURISTICS)])
def get_run(run_id: uuid.UUID, project: ProjectDep, session: SessionDep) -> RunOut:
    """One run with its summary (model used, label distribution, coverage, mean confidence, duration) and its
    cross-validated quality."""
    return _run_out(session, get_in_project(session, WeakSupervisionRun, run_id, project.id, "weak-supervision run"))


@router.get("/labeling-tasks/{task_id}/weak-supervision", response_model=RunOut, dependencies=[allow(Action.READ_HEURISTICS)])
def latest_run(task_id: uuid.UUID, project: ProjectDep, session: SessionDep) -> RunOut:
    """The task's latest weak-supervision run, with its cross-validated quality."""
    task = project_task(session, project.id, task_id)
    run = session.scalars(
        select(WeakSupervisionRun)
        .where(WeakSupervisionRun.labeling_task_id == task.id)
        .order_by(WeakSupervisionRun.created_at.desc())
        .limit(1)
    ).first()
    if run is None:
        raise problem(404, f"labeling task {task_id} has no weak-supervision run yet")
    return _run_out(session, run)


@router.get("/metrics/weak-supervision-quality", response_model=QualityOut, dependencies=[allow(Action.READ_HEURISTICS)])
def weak_supervision_quality(task_id: uuid.UUID, project: ProjectDep, session: SessionDep) -> QualityOut:
    """The overview's quality figures: accuracy (with its Wilson 95 % interval) and per-label precision/recall of the
    task's latest finished weak-supervision run, cross-validated on the manual labels (k-fold; never measured on labels
    the model was fitted on), with the number of labels behind them; ``available`` is False with a ``reason`` when
    there are too few labels (< 10) or a label has none."""
    task = project_task(session, project.id, task_id)
    return task_quality(session, task.id)


@router.get(
    "/labeling-tasks/{task_id}/heuristic-statistics",
    response_model=list[StatisticsOut],
    dependencies=[allow(Action.READ_HEURISTICS)],
)
def task_statistics(task_id: uuid.UUID, project: ProjectDep, session: SessionDep) -> list[dict[str, Any]]:
    """Every heuristic of the task, with its status, and per label: est. precision and recall, coverage, hits,
    conflicts and overlaps."""
    task = project_task(session, project.id, task_id)
    heuristics = session.execute(
        select(InformationSource.id, InformationSource.name, InformationSource.type)
        .where(InformationSource.labeling_task_id == task.id)
        .order_by(InformationSource.name)
    ).all()
    latest = {
        run.source_id: run
        for run in session.scalars(
            select(HeuristicRun)
            .where(HeuristicRun.source_id.in_([h.id for h in heuristics]))
            .order_by(HeuristicRun.source_id, HeuristicRun.created_at.desc())
            .distinct(HeuristicRun.source_id)
        )
    }
    stats_of: dict[uuid.UUID, list[tuple[HeuristicStatistics, str]]] = {}
    for stats, label_name in session.execute(
        select(HeuristicStatistics, Label.name)
        .join(Label, Label.id == HeuristicStatistics.label_id)
        .join(InformationSource, InformationSource.id == HeuristicStatistics.source_id)
        .where(InformationSource.labeling_task_id == task.id)
        .order_by(Label.name)
    ):
        stats_of.setdefault(stats.source_id, []).append((stats, label_name))
    out: list[dict[str, Any]] = []
    for source_id, name, kind in heuristics:
        run = latest.get(source_id)
        rows = stats_of.get(source_id, [])
        status = _status(kind, run, hits=sum(stats.total_hits for stats, _ in rows))
        head = {
            "source_id": source_id,
            "heuristic_name": name,
            "heuristic_type": str(kind),
            "status": status,
            "last_run_state": str(run.state) if run else None,
            "last_run_error": run.error if run else None,
            "last_run_finished_at": run.finished_at if run else None,
        }
        if not rows:
            out.append({**head, **dict.fromkeys(_COUNTS, 0), "label_id": None, "label_name": None} | _NO_ESTIMATES)
        for stats, label_name in rows:
            tp, fp, fn = stats.true_positives, stats.false_positives, stats.false_negatives
            out.append(
                {
                    **head,
                    **{field: getattr(stats, field) for field in _COUNTS},
                    "label_id": stats.label_id,
                    "label_name": label_name,
                    "est_precision": tp / (tp + fp) if tp + fp else None,
                    "est_recall": tp / (tp + fn) if tp + fn else None,
                    "updated_at": stats.updated_at,
                }
            )
    return out


_COUNTS = (
    "true_positives",
    "false_positives",
    "false_negatives",
    "record_coverage",
    "total_hits",
    "source_conflicts",
    "source_overlaps",
)
_NO_ESTIMATES: dict[str, Any] = {"est_precision": None, "est_recall": None, "updated_at": None}


def _status(kind: HeuristicType, run: HeuristicRun | None, *, hits: int) -> HeuristicStatus:
    """What a user must know before reading a heuristic's figures."""
    if run is not None and run.state in (RunState.QUEUED, RunState.RUNNING):
        return "running"
    if run is not None and run.state == RunState.FAILED:
        return "last_run_failed"
    if hits:
        return "ok"
    if run is None and kind == HeuristicType.PRE_COMPUTED:
        return "no_results"
    if run is None:
        return "never_run"
    return "no_hits"


@router.post(
    "/labeling-tasks/{task_id}/heuristic-statistics",
    response_model=JobOut,
    status_code=202,
    dependencies=[allow(Action.EDIT_PROJECT)],
)
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
