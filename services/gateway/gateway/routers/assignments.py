"""Work for annotators: an engineer assigns records (a slice, a labeling session or record ids) to annotators with a
redundancy and a due count, follows each annotator's progress and can revert one annotator's labels of an assignment;
an annotator works through their queue (progress, next record, skip, a comment to the engineer)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field, model_validator
from sqlalchemy import func, select

from shared_model.models import (
    Attribute,
    LabelingSession,
    LabelingTask,
    ProjectMember,
    Record,
    WorkAssignment,
    WorkAssignmentAnnotator,
    WorkAssignmentItem,
)
from shared_model.service import problem

from ..deps import SessionDep
from ..domain import assignments, label_history
from ..domain.browser import search, slices
from ..domain.browser.compile import ProjectCatalog
from ..domain.browser.filters import FilterGroup, InSliceCondition
from ..policies import Action, Permit, allow
from ..schemas import RequestModel
from .data import RecordOut, ordered_data

router = APIRouter(prefix="/api/v1/projects/{project_id}", tags=["assignments"])

MAX_RECORD_IDS = 100_000
MAX_ANNOTATORS = 100


class AssignmentIn(RequestModel):
    """The records (exactly one of ``slice_id``, ``session_id``, ``record_ids``) and who labels them."""

    name: str = Field(min_length=1, max_length=200)
    slice_id: uuid.UUID | None = Field(default=None, description="A data slice: its records now (in id order).")
    session_id: uuid.UUID | None = Field(default=None, description="A labeling session: its records in session order.")
    record_ids: list[int] | None = Field(default=None, min_length=1, max_length=MAX_RECORD_IDS)
    annotator_ids: list[uuid.UUID] = Field(min_length=1, max_length=MAX_ANNOTATORS, description="Project members.")
    redundancy: int = Field(default=1, ge=1, le=MAX_ANNOTATORS, description="How many annotators label each record.")
    due_count: int | None = Field(
        default=None, ge=1, le=assignments.MAX_ITEMS, description="Records due per annotator; omit: all assigned."
    )
    labeling_task_id: uuid.UUID | None = Field(
        default=None, description="The task whose manual label makes a record done; omit: a label of any task."
    )
    bias_guard: bool = Field(
        default=True,
        description="Blind labeling: the annotators see neither other members' labels nor heuristic votes on these "
        "records (false: they may).",
    )

    @model_validator(mode="after")
    def _one_source(self) -> AssignmentIn:
        given = [x for x in (self.slice_id, self.session_id, self.record_ids) if x is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of slice_id, session_id or record_ids")
        return self


class AssignmentPatch(RequestModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    bias_guard: bool | None = None
    due_count: int | None = Field(default=None, ge=1, le=assignments.MAX_ITEMS, description="For every annotator.")


class AnnotatorProgress(BaseModel):
    annotator_id: uuid.UUID
    assigned: int
    done: int
    skipped: int
    due_count: int
    comment: str | None = Field(description="The annotator's comment to the engineer.")


class AssignmentOut(BaseModel):
    id: uuid.UUID
    name: str
    source: dict[str, Any]
    labeling_task_id: uuid.UUID | None
    redundancy: int
    bias_guard: bool
    record_count: int = Field(description="Distinct records of the assignment.")
    created_by: uuid.UUID | None
    created_at: datetime
    annotators: list[AnnotatorProgress]


class MyAssignmentOut(BaseModel):
    id: uuid.UUID
    name: str
    labeling_task_id: uuid.UUID | None
    bias_guard: bool
    assigned: int
    done: int
    skipped: int
    due_count: int
    comment: str | None


class NextOut(BaseModel):
    record: RecordOut | None = Field(description="The next record to label; null when the queue is through.")
    position: int | None = Field(description="Its place in the queue (0-based).")
    assigned: int
    done: int
    skipped: int


class SkipIn(RequestModel):
    record_id: int


class CommentIn(RequestModel):
    comment: str = Field(min_length=1, max_length=10_000, description="To the engineer who assigned the work.")


class RevertIn(RequestModel):
    annotator_id: uuid.UUID = Field(description="Whose manual labels of the assignment's records are removed.")


class RevertOut(BaseModel):
    records: int
    changes: int


EngineerPermit = Annotated[Permit, allow(Action.ASSIGN_WORK)]
LabelPermit = Annotated[Permit, allow(Action.LABEL)]


def _source_ids(body: AssignmentIn, permit: Permit, session: SessionDep) -> tuple[list[int], dict[str, Any]]:
    project_id = permit.project_id
    if body.slice_id is not None:
        data_slice = slices.get_slice(session, project_id, body.slice_id)
        catalog = ProjectCatalog.load(session, project_id, permit.user.id)
        group = FilterGroup(conditions=[InSliceCondition(slice_id=data_slice.id)])
        return search.record_ids(session, catalog, group, []), {"slice_id": str(data_slice.id), "slice": data_slice.name}
    if body.session_id is not None:
        row = session.get(LabelingSession, body.session_id)
        if row is None or row.project_id != project_id:
            raise problem(422, f"session_id: labeling session {body.session_id} does not exist in this project")
        wanted = list(dict.fromkeys(row.record_ids))
        source: dict[str, Any] = {"session_id": str(row.id), "session": row.name}
    else:
        wanted = list(dict.fromkeys(body.record_ids or []))
        source = {"record_ids": len(wanted)}
    found = set(session.scalars(select(Record.id).where(Record.project_id == project_id, Record.id.in_(wanted))))
    missing = [i for i in wanted if i not in found]
    if missing and body.session_id is None:
        raise problem(422, f"record_ids: {len(missing)} id(s) are not records of this project: {missing[:10]}")
    return [i for i in wanted if i in found], source


def _get(session: SessionDep, project_id: uuid.UUID, assignment_id: uuid.UUID) -> WorkAssignment:
    row = session.get(WorkAssignment, assignment_id)
    if row is None or row.project_id != project_id:
        raise problem(404, f"assignment {assignment_id} does not exist in this project")
    return row


def _mine(session: SessionDep, permit: Permit, assignment_id: uuid.UUID) -> WorkAssignment:
    row = _get(session, permit.project_id, assignment_id)
    if session.get(WorkAssignmentAnnotator, (row.id, permit.user.id)) is None:
        raise problem(404, f"assignment {assignment_id} does not exist in this project or is not assigned to you")
    return row


def _out(session: SessionDep, row: WorkAssignment) -> AssignmentOut:
    count = session.scalar(
        select(func.count(func.distinct(WorkAssignmentItem.record_id))).where(WorkAssignmentItem.assignment_id == row.id)
    )
    return AssignmentOut(
        id=row.id,
        name=row.name,
        source=row.source,
        labeling_task_id=row.labeling_task_id,
        redundancy=row.redundancy,
        bias_guard=row.bias_guard,
        record_count=int(count or 0),
        created_by=row.created_by,
        created_at=row.created_at,
        annotators=[AnnotatorProgress(**vars(p)) for p in assignments.progress(session, row)],
    )


@router.post("/assignments", response_model=AssignmentOut, status_code=201)
def create_assignment(body: AssignmentIn, permit: EngineerPermit, session: SessionDep) -> AssignmentOut:
    """Assign records to annotators: each record to ``redundancy`` of them (deterministic round robin, see docs/teams.md)."""
    project_id = permit.project_id
    annotators = list(dict.fromkeys(body.annotator_ids))
    members = set(
        session.scalars(
            select(ProjectMember.user_id).where(ProjectMember.project_id == project_id, ProjectMember.user_id.in_(annotators))
        )
    )
    strangers = [str(a) for a in annotators if a not in members]
    if strangers:
        raise problem(422, f"annotator_ids: not members of this project: {', '.join(strangers[:10])}")
    if body.labeling_task_id is not None:
        task = session.get(LabelingTask, body.labeling_task_id)
        if task is None or task.project_id != project_id:
            raise problem(422, f"labeling_task_id: task {body.labeling_task_id} does not exist in this project")
    record_ids, source = _source_ids(body, permit, session)
    if not record_ids:
        raise problem(422, "the assignment's source holds no records")
    if len(record_ids) * body.redundancy > assignments.MAX_ITEMS:
        raise problem(422, f"{len(record_ids)} records × redundancy {body.redundancy} exceed {assignments.MAX_ITEMS}")
    queues = assignments.distribute(record_ids, annotators, body.redundancy)
    row = WorkAssignment(
        project_id=project_id,
        name=body.name,
        source=source,
        labeling_task_id=body.labeling_task_id,
        redundancy=body.redundancy,
        bias_guard=body.bias_guard,
        created_by=permit.user.id,
    )
    session.add(row)
    session.flush()
    for annotator, ids in queues.items():
        due = min(body.due_count, len(ids)) if body.due_count is not None else len(ids)
        session.add(WorkAssignmentAnnotator(assignment_id=row.id, annotator_id=annotator, due_count=due))
    session.flush()
    assignments.store_items(session, row, queues)
    session.refresh(row)
    return _out(session, row)


@router.get("/assignments", response_model=list[AssignmentOut])
def list_assignments(permit: EngineerPermit, session: SessionDep) -> list[AssignmentOut]:
    """The project's assignments, newest first, with each annotator's progress."""
    rows = session.scalars(
        select(WorkAssignment).where(WorkAssignment.project_id == permit.project_id).order_by(WorkAssignment.created_at.desc())
    )
    return [_out(session, row) for row in rows]


@router.get("/assignments/{assignment_id}", response_model=AssignmentOut)
def get_assignment(assignment_id: uuid.UUID, permit: EngineerPermit, session: SessionDep) -> AssignmentOut:
    """One assignment with each annotator's progress (assigned, done, skipped, due) and comment."""
    return _out(session, _get(session, permit.project_id, assignment_id))


@router.patch("/assignments/{assignment_id}", response_model=AssignmentOut)
def update_assignment(
    assignment_id: uuid.UUID, body: AssignmentPatch, permit: EngineerPermit, session: SessionDep
) -> AssignmentOut:
    """Rename, switch the bias guard on or off, or set every annotator's due count."""
    row = _get(session, permit.project_id, assignment_id)
    if body.name is not None:
        row.name = body.name
    if body.bias_guard is not None:
        row.bias_guard = body.bias_guard
    if body.due_count is not None:
        for member in session.scalars(select(WorkAssignmentAnnotator).where(WorkAssignmentAnnotator.assignment_id == row.id)):
            member.due_count = body.due_count
    session.flush()
    return _out(session, row)


@router.delete("/assignments/{assignment_id}", status_code=204)
def delete_assignment(assignment_id: uuid.UUID, permit: EngineerPermit, session: SessionDep) -> None:
    """Withdraw the assignment (its annotators' labels stay)."""
    session.delete(_get(session, permit.project_id, assignment_id))


@router.post("/assignments/{assignment_id}/revert", response_model=RevertOut)
def revert_annotator(assignment_id: uuid.UUID, body: RevertIn, permit: EngineerPermit, session: SessionDep) -> RevertOut:
    """Remove one annotator's manual labels of the assignment's records (of its task when it names one); each change
    is kept in the label history (via REVERT)."""
    row = _get(session, permit.project_id, assignment_id)
    if session.get(WorkAssignmentAnnotator, (row.id, body.annotator_id)) is None:
        raise problem(422, f"annotator_id: user {body.annotator_id} is not an annotator of this assignment")
    record_ids = assignments.queue_record_ids(session, row.id, body.annotator_id)
    found = label_history.revert(
        session,
        permit.project_id,
        body.annotator_id,
        permit.user.id,
        record_ids=record_ids,
        task_id=row.labeling_task_id,
        since=None,
    )
    return RevertOut(**found)


# --- the annotator's queue ------------------------------------------------------------------------------------------


@router.get("/my-assignments", response_model=list[MyAssignmentOut])
def my_assignments(permit: LabelPermit, session: SessionDep) -> list[MyAssignmentOut]:
    """The caller's work in this project (their home as an annotator): progress per assignment, newest first."""
    rows = session.scalars(
        select(WorkAssignment)
        .join(WorkAssignmentAnnotator, WorkAssignmentAnnotator.assignment_id == WorkAssignment.id)
        .where(WorkAssignment.project_id == permit.project_id, WorkAssignmentAnnotator.annotator_id == permit.user.id)
        .order_by(WorkAssignment.created_at.desc())
    )
    return [_my(session, row, permit) for row in rows]


@router.get("/my-assignments/{assignment_id}/next", response_model=NextOut)
def next_record(
    assignment_id: uuid.UUID,
    permit: LabelPermit,
    session: SessionDep,
    include_skipped: bool = Query(False, description="Also offer skipped records (once the others are done)."),
) -> NextOut:
    """The caller's next record of the assignment that they have not labeled (nor skipped), with its data."""
    row = _mine(session, permit, assignment_id)
    found = assignments.next_record(session, row, permit.user.id, include_skipped)
    (p,) = assignments.progress(session, row, permit.user.id)
    record = None
    if found is not None:
        data = session.scalar(select(Record.data).where(Record.id == found[0]))
        order = list(
            session.scalars(
                select(Attribute.name).where(Attribute.project_id == permit.project_id).order_by(Attribute.relative_position)
            )
        )
        record = RecordOut(id=found[0], data=ordered_data(data or {}, order))
    return NextOut(
        record=record,
        position=found[1] if found is not None else None,
        assigned=p.assigned,
        done=p.done,
        skipped=p.skipped,
    )


@router.post("/my-assignments/{assignment_id}/skip", response_model=MyAssignmentOut)
def skip_record(assignment_id: uuid.UUID, body: SkipIn, permit: LabelPermit, session: SessionDep) -> MyAssignmentOut:
    """Skip a record of the caller's queue: ``next`` offers it again only with ``include_skipped``."""
    row = _mine(session, permit, assignment_id)
    assignments.item(session, row.id, permit.user.id, body.record_id).skipped = True
    session.flush()
    return _my(session, row, permit)


@router.put("/my-assignments/{assignment_id}/comment", response_model=MyAssignmentOut)
def comment_assignment(
    assignment_id: uuid.UUID, body: CommentIn, permit: Annotated[Permit, allow(Action.COMMENT)], session: SessionDep
) -> MyAssignmentOut:
    """The caller's comment to the engineer on this assignment (replaces their previous one)."""
    row = _mine(session, permit, assignment_id)
    member = session.get(WorkAssignmentAnnotator, (row.id, permit.user.id))
    assert member is not None  # _mine checked it
    member.comment = body.comment
    member.commented_at = datetime.now(UTC)
    session.flush()
    return _my(session, row, permit)


def _my(session: SessionDep, row: WorkAssignment, permit: Permit) -> MyAssignmentOut:
    (p,) = assignments.progress(session, row, permit.user.id)
    return MyAssignmentOut(
        id=row.id,
        name=row.name,
        labeling_task_id=row.labeling_task_id,
        bias_guard=row.bias_guard,
        assigned=p.assigned,
        done=p.done,
        skipped=p.skipped,
        due_count=p.due_count,
        comment=p.comment,
    )
