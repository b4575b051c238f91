"""Label history (who changed which manual labels, when, how) and reverting one annotator's labels."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from shared_model.models import ProjectMember
from shared_model.service import problem

from ..deps import CurrentUser, ProjectDep, SessionDep
from ..domain import label_history, labeling
from ..policies import Action, allow
from ..schemas import RequestModel

router = APIRouter(prefix="/api/v1/projects/{project_id}", tags=["label history"])


class HistoryLabel(BaseModel):
    label_id: uuid.UUID
    name: str = Field(description="The label's name when the change was made.")
    token_start: int | None
    token_end: int | None


class HistoryEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    record_id: int
    labeling_task_id: uuid.UUID
    annotator_id: uuid.UUID | None = Field(description="Whose manual labels changed.")
    changed_by: uuid.UUID | None = Field(description="Who changed them (the annotator, or who reverted their labels).")
    via: str = Field(description="UI, SDK, BULK, UPLOAD, SNAPSHOT or REVERT.")
    event: str = Field(
        description="LABELS (the labels changed), GOLD_STAR_SET / GOLD_STAR_WITHDRAWN (the annotator's labels became, or "
        "stopped being, the gold standard; labels unchanged), LABEL_DELETED / TASK_DELETED (labels removed by deleting "
        "a label or the task)."
    )
    old_labels: list[HistoryLabel]
    new_labels: list[HistoryLabel]
    created_at: datetime


class RevertIn(RequestModel):
    annotator_id: uuid.UUID = Field(description="The annotator whose manual labels are reverted.")
    record_ids: list[int] | None = Field(
        default=None, max_length=1_000_000, description="Only these records (e.g. an assignment's); omit for all."
    )
    labeling_task_id: uuid.UUID | None = Field(default=None, description="Only this task; omit for all tasks.")
    since: datetime | None = Field(
        default=None,
        description="Undo only the annotator's changes since then (each record back to its labels before them); "
        "omit to remove the annotator's labels.",
    )


class RevertOut(BaseModel):
    records: int = Field(description="Records whose labels by the annotator were looked at.")
    changes: int = Field(description="History entries written (records whose labels changed).")


@router.get(
    "/records/{record_id}/label-history", response_model=list[HistoryEntryOut], dependencies=[allow(Action.READ_ALL_LABELS)]
)
def record_history(
    record_id: int,
    project: ProjectDep,
    session: SessionDep,
    task_id: uuid.UUID | None = None,
    limit: int = Query(200, ge=1, le=1000),
) -> list[HistoryEntryOut]:
    """Every change of manual labels on a record (all annotators), newest first."""
    labeling.get_record(session, project.id, record_id)
    found = label_history.entries(session, project.id, record_id=record_id, task_id=task_id, limit=limit)
    return [HistoryEntryOut.model_validate(row) for row in found]


@router.get("/label-history", response_model=list[HistoryEntryOut], dependencies=[allow(Action.READ_ALL_LABELS)])
def project_history(
    project: ProjectDep,
    session: SessionDep,
    annotator_id: uuid.UUID | None = None,
    task_id: uuid.UUID | None = None,
    before_id: int | None = Query(None, description="Page on: entries older than this entry id."),
    limit: int = Query(100, ge=1, le=1000),
) -> list[HistoryEntryOut]:
    """The project's label changes, newest first: who labeled what (optionally one annotator / one task)."""
    found = label_history.entries(
        session, project.id, task_id=task_id, annotator_id=annotator_id, before_id=before_id, limit=limit
    )
    return [HistoryEntryOut.model_validate(row) for row in found]


@router.post("/label-history/revert", response_model=RevertOut, dependencies=[allow(Action.EDIT_PROJECT)])
def revert(body: RevertIn, project: ProjectDep, user: CurrentUser, session: SessionDep) -> RevertOut:
    """Revert one annotator's manual labels (of a set of records / one task): remove them, or with ``since`` undo their
    changes since then. Every change is kept in the history (via REVERT); decided labels are recomputed."""
    member = session.scalar(
        select(ProjectMember.id).where(ProjectMember.project_id == project.id, ProjectMember.user_id == body.annotator_id)
    )
    if member is None and not label_history.entries(session, project.id, annotator_id=body.annotator_id, limit=1):
        raise problem(422, f"user {body.annotator_id} is not a member of this project and has no labels in it")
    found = label_history.revert(
        session,
        project.id,
        body.annotator_id,
        user.id,
        record_ids=body.record_ids,
        task_id=body.labeling_task_id,
        since=body.since,
    )
    return RevertOut(**found)
