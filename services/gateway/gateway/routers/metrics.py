"""The overview's metrics, each filterable by a data slice (``slice_id``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from shared_model.models import LabelingTask

from ..deps import CurrentUser, ProjectDep, SessionDep
from ..domain import labeling
from ..domain.browser import agreement as iaa
from ..domain.browser import metrics, slices
from ..domain.browser.compile import ProjectCatalog
from ..domain.browser.timeout import TimedRoute
from ..policies import Action, allow

router = APIRouter(prefix="/api/v1/projects/{project_id}/metrics", tags=["metrics"], route_class=TimedRoute)

SLICE = Query(None, description="Only the records of this data slice.")


class TaskProgress(BaseModel):
    labeling_task_id: uuid.UUID
    name: str
    manually_labeled: int = Field(description="Records with a valid manual label.")
    weakly_supervised: int = Field(description="Records with a weak-supervision label.")
    manually_labeled_ratio: float
    weakly_supervised_ratio: float


class ProgressOut(BaseModel):
    records: int
    tasks: list[TaskProgress]


class LabelCount(BaseModel):
    label_id: uuid.UUID
    name: str
    manual: int
    weak_supervision: int
    manual_ratio: float
    weak_supervision_ratio: float


class HistogramBin(BaseModel):
    low: float
    high: float
    count: int


class ConfusionCell(BaseModel):
    manual: str = Field(description="A label name, or OUTSIDE (extraction: a span only weak supervision has).")
    weak_supervision: str
    count: int


class HeuristicFigures(BaseModel):
    heuristic_id: uuid.UUID
    name: str
    coverage: int
    hits: int
    overlaps: int
    conflicts: int


def _scope(session: SessionDep, project_id: uuid.UUID, user_id: uuid.UUID, slice_id: uuid.UUID | None) -> metrics.Scope:
    if slice_id is not None:
        slices.get_slice(session, project_id, slice_id)
    return metrics.Scope(session, ProjectCatalog.load(session, project_id, user_id), slice_id)


@dataclass
class TaskScope:
    """What a task's metric reads: the session, the task of the project and the records in scope (project or slice)."""

    session: Session
    task: LabelingTask
    scope: metrics.Scope


def task_scope(
    project: ProjectDep, user: CurrentUser, session: SessionDep, task_id: uuid.UUID, slice_id: uuid.UUID | None = SLICE
) -> TaskScope:
    """The ``task_id`` and ``slice_id`` query parameters every per-task metric takes (404 for an unknown one)."""
    task = labeling.get_task(session, project.id, task_id)
    return TaskScope(session, task, _scope(session, project.id, user.id, slice_id))


TaskScopeDep = Annotated[TaskScope, Depends(task_scope)]


@router.get("/progress", response_model=ProgressOut, dependencies=[allow(Action.BROWSE_DATA)])
def progress(project: ProjectDep, user: CurrentUser, session: SessionDep, slice_id: uuid.UUID | None = SLICE) -> ProgressOut:
    """Manually labeled and weakly supervised records per task."""
    return ProgressOut.model_validate(metrics.progress(session, _scope(session, project.id, user.id, slice_id)))


@router.get("/label-distribution", response_model=list[LabelCount], dependencies=[allow(Action.BROWSE_DATA)])
def label_distribution(on: TaskScopeDep) -> list[LabelCount]:
    """Per label: valid manual vs weak-supervision labels."""
    return [LabelCount.model_validate(row) for row in metrics.label_distribution(on.session, on.scope, on.task)]


@router.get("/confidence-histogram", response_model=list[HistogramBin], dependencies=[allow(Action.BROWSE_DATA)])
def confidence_histogram(on: TaskScopeDep, bins: int = Query(10, ge=1, le=100)) -> list[HistogramBin]:
    """Weak-supervision confidence in equal bins over [0, 1]."""
    found = metrics.confidence_histogram(on.session, on.scope, on.task, bins)
    return [HistogramBin.model_validate(row) for row in found]


@router.get("/confusion-matrix", response_model=list[ConfusionCell], dependencies=[allow(Action.BROWSE_DATA)])
def confusion_matrix(on: TaskScopeDep) -> list[ConfusionCell]:
    """Valid manual x weak-supervision labels on manually labeled records (OUTSIDE for extraction). The model may have
    been fitted on these labels: no quality estimate (that is …/metrics/weak-supervision-quality)."""
    return [ConfusionCell.model_validate(row) for row in metrics.confusion_matrix(on.session, on.scope, on.task)]


@router.get("/heuristics", response_model=list[HeuristicFigures], dependencies=[allow(Action.READ_HEURISTICS)])
def heuristics(on: TaskScopeDep) -> list[HeuristicFigures]:
    """Per heuristic of the task on the slice: coverage, hits, overlaps and conflicts."""
    return [HeuristicFigures.model_validate(row) for row in metrics.heuristic_figures(on.session, on.scope, on.task)]


class AnnotatorFigures(BaseModel):
    user_id: uuid.UUID
    email: str
    records: int = Field(description="Records this annotator labeled that another annotator labeled too.")


class PairAgreement(BaseModel):
    annotator_a: uuid.UUID
    annotator_b: uuid.UUID
    email_a: str
    email_b: str
    records: int = Field(description="Records both labeled.")
    units: int = Field(description="Records (classification) or tokens (extraction) both rated.")
    percent_agreement: float | None
    cohen_kappa: float | None = Field(description="None where undefined (both always gave one and the same value).")


class OverallAgreement(BaseModel):
    records: int = Field(description="Records labeled by two or more annotators.")
    units: int
    percent_agreement: float | None = Field(description="The share of agreeing pairs of values within units.")
    krippendorff_alpha: float | None = Field(description="Krippendorff's alpha, nominal; None where undefined.")
    mean_cohen_kappa: float | None = Field(description="The mean of the pairs' defined kappas.")


class AgreementOut(BaseModel):
    labeling_task_id: uuid.UUID
    task_type: str
    unit: str = Field(description="record (classification; a multi-label set is one value) or token (extraction).")
    annotators: list[AnnotatorFigures]
    pairs: list[PairAgreement]
    overall: OverallAgreement


@router.get("/agreement", response_model=AgreementOut, dependencies=[allow(Action.BROWSE_DATA)])
def agreement(
    on: TaskScopeDep,
    include_gold_starred: bool = Query(True, description="false: leave out records with a gold star."),
) -> AgreementOut:
    """Inter-annotator agreement of a task: per annotator pair (percent agreement, Cohen's kappa) and overall
    (percent agreement, Krippendorff's alpha), on records labeled by two or more annotators."""
    records = on.scope.records if on.scope.group is not None else None
    return AgreementOut.model_validate(iaa.agreement(on.session, on.task, records, include_gold_starred))
