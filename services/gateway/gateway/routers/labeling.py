"""Labeling tasks, labels and manual labeling (classification, multi-label, spans, gold star, bulk).

Why one module of ~520 lines: it is one resource's routes (a record's labels, by kind) and their schemas; the rules
live in :mod:`gateway.domain.labeling`, label history and resolution in modules of their own.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from shared_model import heuristic_results
from shared_model.models import (
    Attribute,
    InformationSource,
    Label,
    LabelingTask,
    Record,
    ReturnType,
    SourceType,
    TaskType,
    WeakSupervisionCurrent,
)
from shared_model.models import RecordLabelAssociation as RLA
from shared_model.models import WeakSupervisionAssociation as WSA
from shared_model.service import problem
from shared_model.storage import WeakSupervisionArtifacts, get_storage

from ..clients import ServiceClient
from ..deps import CurrentUser, ProjectDep, SessionDep
from ..domain import labeling
from ..domain.heuristics import stop_active_runs
from ..domain.label_history import Via, via_of
from ..policies import Action, Permit, ProjectPermit, allow
from ..schemas import RequestModel

log = logging.getLogger("gateway")

router = APIRouter(prefix="/api/v1/projects/{project_id}", tags=["labeling"])

ViaDep = Annotated[Via, Depends(via_of)]  # how a manual label is written (UI: a session cookie, SDK: a token)

COLOR = r"^(#[0-9a-fA-F]{3}|#[0-9a-fA-F]{6}|[a-zA-Z]{1,30})$"


class LabelIn(RequestModel):
    name: str = Field(min_length=1, max_length=200)
    color: str = Field(default="#4f46e5", pattern=COLOR)
    hotkey: str | None = Field(default=None, max_length=1)


class LabelUpdate(RequestModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    color: str | None = Field(default=None, pattern=COLOR)
    hotkey: str | None = Field(default=None, max_length=1, description="null (explicitly) removes the hotkey")


class LabelOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    labeling_task_id: uuid.UUID
    name: str
    color: str
    hotkey: str | None


class TaskIn(RequestModel):
    name: str = Field(min_length=1, max_length=200)
    task_type: TaskType = TaskType.MULTICLASS_CLASSIFICATION
    attribute: str | None = Field(default=None, description="attribute name or id; omit for a whole-record task")
    labels: list[LabelIn] = Field(default_factory=list, max_length=500)


class TaskUpdate(RequestModel):
    name: str = Field(min_length=1, max_length=200)


class TaskOut(BaseModel):
    id: uuid.UUID
    name: str
    task_type: str
    task_target: str
    attribute_id: uuid.UUID | None
    attribute: str | None
    labels: list[LabelOut]


class LabelsIn(RequestModel):
    label_ids: list[uuid.UUID] | None = Field(default=None, max_length=500)
    label_id: uuid.UUID | None = Field(default=None, description="shorthand for one label")

    def ids(self) -> list[uuid.UUID]:
        return [*(self.label_ids or []), *([self.label_id] if self.label_id else [])]


class RecordLabelsIn(LabelsIn):
    label_ids: list[uuid.UUID] | None = Field(default=None, max_length=500, description="[] clears the record's labels")

    @model_validator(mode="after")
    def _says_what(self) -> RecordLabelsIn:
        if self.label_ids is None and self.label_id is None:  # an empty body must not clear a user's labels
            raise ValueError("give label_ids (a list; [] clears the record's labels) or label_id")
        return self


class SpanIn(RequestModel):
    label_id: uuid.UUID
    token_start: int | None = None
    token_end: int | None = Field(default=None, description="exclusive")
    char_start: int | None = None
    char_end: int | None = Field(default=None, description="exclusive")


class ManualLabelOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    record_id: int
    labeling_task_id: uuid.UUID
    label_id: uuid.UUID
    source_type: str
    source_id: uuid.UUID | None
    return_type: str
    confidence: float | None
    created_by: uuid.UUID | None
    is_gold_star: bool
    is_valid_manual_label: bool
    token_start: int | None
    token_end: int | None
    created_at: datetime


class SpanOut(ManualLabelOut):
    char_start: int
    char_end: int
    text: str
    created: bool


class RecordTaskLabels(BaseModel):
    record_id: int
    labeling_task_id: uuid.UUID
    mine: list[ManualLabelOut]
    valid: list[ManualLabelOut]


class BulkFilter(RequestModel):
    attribute: str
    operator: Literal["EQUAL", "CONTAINS", "BEGINS_WITH", "ENDS_WITH"] = "EQUAL"
    value: str


class BulkIn(LabelsIn):
    labeling_task_id: uuid.UUID
    record_ids: list[int] | None = Field(default=None, max_length=1_000_000)
    filter: BulkFilter | None = None

    @model_validator(mode="after")
    def _one_selection(self) -> BulkIn:
        if (self.record_ids is None) == (self.filter is None):
            raise ValueError("give exactly one of record_ids or filter")
        return self


# --- tasks and labels -----------------------------------------------------------------------------------------------


def task_out(session: SessionDep, task: LabelingTask) -> TaskOut:
    labels = session.scalars(select(Label).where(Label.labeling_task_id == task.id).order_by(Label.created_at, Label.name))
    attribute = session.get(Attribute, task.attribute_id) if task.attribute_id else None
    return TaskOut(
        id=task.id,
        name=task.name,
        task_type=str(task.task_type),
        task_target=str(task.task_target),
        attribute_id=task.attribute_id,
        attribute=attribute.name if attribute else None,
        labels=[LabelOut.model_validate(label) for label in labels],
    )


@router.get("/labeling-tasks", response_model=list[TaskOut], dependencies=[allow(Action.READ_PROJECT)])
def list_tasks(project: ProjectDep, session: SessionDep) -> list[TaskOut]:
    """The project's labeling tasks with their labels."""
    tasks = session.scalars(select(LabelingTask).where(LabelingTask.project_id == project.id).order_by(LabelingTask.created_at))
    return [task_out(session, task) for task in tasks]


@router.post("/labeling-tasks", response_model=TaskOut, status_code=201, dependencies=[allow(Action.EDIT_PROJECT)])
def create_task(body: TaskIn, project: ProjectDep, session: SessionDep) -> TaskOut:
    """Create a task (on an attribute or the whole record), optionally with its labels."""
    task = labeling.create_task(session, project.id, body.name, body.task_type, body.attribute)
    for label in body.labels:
        labeling.create_label(session, task, label.name, label.color, label.hotkey)
    return task_out(session, task)


@router.get("/labeling-tasks/{task_id}", response_model=TaskOut, dependencies=[allow(Action.READ_PROJECT)])
def get_task(task_id: uuid.UUID, project: ProjectDep, session: SessionDep) -> TaskOut:
    """One task with its labels."""
    return task_out(session, labeling.get_task(session, project.id, task_id))


@router.patch("/labeling-tasks/{task_id}", response_model=TaskOut, dependencies=[allow(Action.EDIT_PROJECT)])
def rename_task(task_id: uuid.UUID, body: TaskUpdate, project: ProjectDep, session: SessionDep) -> TaskOut:
    """Rename a task."""
    task = labeling.get_task(session, project.id, task_id)
    labeling.rename_task(session, task, body.name)
    session.flush()
    return task_out(session, task)


@router.delete("/labeling-tasks/{task_id}", dependencies=[allow(Action.EDIT_PROJECT)])
def delete_task(
    task_id: uuid.UUID,
    project: ProjectDep,
    user: CurrentUser,
    session: SessionDep,
    via: ViaDep,
    after_commit: BackgroundTasks,
    dry_run: bool = Query(default=False),
) -> dict[str, Any]:
    """Delete a task and all that depends on it; ``dry_run=true`` only reports what would be removed."""
    task = labeling.get_task(session, project.id, task_id)
    if dry_run:
        return {"dry_run": True, "removes": labeling.task_deletion(session, task)}
    # its heuristics' runs hold locks on the task's labels while they store results: stopped first
    stop_active_runs(session, _heuristics_of(session, task.id), f"a heuristic of task {task.name!r}")
    removed = labeling.delete_task(session, task, user.id, via)
    after_commit.add_task(_remove_task_files, project.id, task_id)  # runs once the deletion is committed
    return {"dry_run": False, "removed": removed}


def _remove_task_files(project_id: uuid.UUID, task_id: uuid.UUID) -> None:
    """The task's weak-supervision probabilities; best effort (a storage outage must not undo a committed delete)."""
    try:
        WeakSupervisionArtifacts(get_storage(), project_id, task_id).delete()
    except Exception:  # noqa: BLE001
        log.warning("could not remove the stored files of deleted labeling task %s", task_id, exc_info=True)


@router.post(
    "/labeling-tasks/{task_id}/labels", response_model=LabelOut, status_code=201, dependencies=[allow(Action.EDIT_PROJECT)]
)
def create_label(task_id: uuid.UUID, body: LabelIn, project: ProjectDep, session: SessionDep) -> Label:
    """Add a label (hotkey unique within the task); an extraction label also gets a lookup list of its name."""
    task = labeling.get_task(session, project.id, task_id)
    return labeling.create_label(session, task, body.name, body.color, body.hotkey)


@router.patch("/labels/{label_id}", response_model=LabelOut, dependencies=[allow(Action.EDIT_PROJECT)])
def update_label(label_id: uuid.UUID, body: LabelUpdate, project: ProjectDep, session: SessionDep) -> Label:
    """Rename, recolor or re-key a label; its associations stay."""
    label = labeling.get_label(session, project.id, label_id)
    clear = "hotkey" in body.model_fields_set and not body.hotkey
    labeling.update_label(session, label, body.name, body.color, body.hotkey, clear)
    session.flush()
    return label


@router.delete("/labels/{label_id}", dependencies=[allow(Action.EDIT_PROJECT)])
def delete_label(
    label_id: uuid.UUID,
    project: ProjectDep,
    user: CurrentUser,
    session: SessionDep,
    via: ViaDep,
    dry_run: bool = Query(default=False),
) -> dict[str, Any]:
    """Delete a label and its associations; ``dry_run=true`` only reports what would be removed."""
    label = labeling.get_label(session, project.id, label_id)
    if dry_run:
        return {"dry_run": True, "removes": labeling.label_deletion(session, label)}
    # runs of the task's heuristics hold locks on its labels while they store results: stopped first
    stop_active_runs(session, _heuristics_of(session, label.labeling_task_id), f"a heuristic of label {label.name!r}'s task")
    return {"dry_run": False, "removed": labeling.delete_label(session, label, user.id, via)}


def _heuristics_of(session: SessionDep, task_id: uuid.UUID) -> list[uuid.UUID]:
    return list(session.scalars(select(InformationSource.id).where(InformationSource.labeling_task_id == task_id)))


# --- manual labels --------------------------------------------------------------------------------------------------


def record_task_labels(session: SessionDep, permit: Permit, record_id: int, task_id: uuid.UUID) -> RecordTaskLabels:
    """The caller's labels and the valid ones of a record's task; a caller who may not see other members' labels (an
    annotator) sees only their own in both."""
    user_id = permit.user.id
    rows = list(
        session.scalars(
            select(RLA)
            .where(RLA.record_id == record_id, RLA.labeling_task_id == task_id, RLA.source_type == "MANUAL")
            .order_by(RLA.created_at, RLA.token_start)
        )
    )
    return RecordTaskLabels(
        record_id=record_id,
        labeling_task_id=task_id,
        mine=[ManualLabelOut.model_validate(r) for r in rows if r.created_by == user_id],
        valid=[
            ManualLabelOut.model_validate(r)
            for r in rows
            if r.is_valid_manual_label and (r.created_by == user_id or permit.can(Action.READ_ALL_LABELS))
        ],
    )


@router.get("/records/{record_id}/labels", response_model=list[ManualLabelOut], dependencies=[allow(Action.LABEL)])
def record_labels(
    record_id: int,
    permit: ProjectPermit,
    session: SessionDep,
    task_id: uuid.UUID | None = None,
    source_type: str | None = None,
) -> list[ManualLabelOut]:
    """Every label on a record (manual from all annotators, heuristics, weak supervision), optionally of one task/source.

    What the caller's role may not see is left out: an annotator gets only their own manual labels (no heuristic
    votes, weak-supervision labels or other members' labels)."""
    project_id = permit.project_id
    labeling.get_record(session, project_id, record_id)
    kind = source_type.upper() if source_type is not None else None
    if kind is not None and kind not in SourceType.__members__:
        raise problem(422, f"source_type must be one of {', '.join(SourceType.__members__)}, not {source_type!r}")
    query = select(RLA).where(RLA.record_id == record_id)
    if task_id is not None:
        query = query.where(RLA.labeling_task_id == task_id)
    if kind is not None:
        query = query.where(RLA.source_type == kind)
    if not permit.can(Action.READ_HEURISTICS):
        query = query.where(RLA.source_type == SourceType.MANUAL)
    if not permit.can(Action.READ_ALL_LABELS):
        query = query.where(RLA.created_by == permit.user.id)
    labels = [ManualLabelOut.model_validate(row) for row in session.scalars(query)]
    # weak-supervision labels are kept apart, per version: the current version's (migration 0023)
    if kind in (None, SourceType.WEAK_SUPERVISION) and permit.can(Action.READ_HEURISTICS):
        labels += weak_supervision_labels(session, record_id, task_id)
    # heuristics' votes are kept apart, in heuristic_result
    if kind in (None, SourceType.INFORMATION_SOURCE) and permit.can(Action.READ_HEURISTICS):
        votes = heuristic_results.record_votes(session, project_id, record_id, task_id)
        labels += [_heuristic_vote(record_id, vote) for vote in votes]
    # as Postgres orders (task, created_at, token_start): a missing token_start last
    return sorted(labels, key=lambda x: (x.labeling_task_id, x.created_at, x.token_start is None, x.token_start or 0))


def weak_supervision_labels(session: Session, record_id: int, task_id: uuid.UUID | None) -> list[ManualLabelOut]:
    """A record's labels in its tasks' current weak-supervision versions, shown like label rows (an id derived from the
    version and the label's place; created when the version became current)."""
    rows = session.execute(
        select(WSA, WeakSupervisionCurrent.switched_at)
        .join(WeakSupervisionCurrent, WeakSupervisionCurrent.labeling_task_id == WSA.labeling_task_id)
        .where(WSA.record_id == record_id, *([WSA.labeling_task_id == task_id] if task_id is not None else []))
        .order_by(WSA.labeling_task_id, WSA.position)
    ).all()
    return [
        ManualLabelOut(
            id=uuid.uuid5(label.version_id, f"{record_id}:{label.position}"),
            record_id=record_id,
            labeling_task_id=label.labeling_task_id,
            label_id=label.label_id,
            source_type=SourceType.WEAK_SUPERVISION.value,
            source_id=None,
            return_type=(ReturnType.YIELD if label.token_start is not None else ReturnType.RETURN).value,
            confidence=label.confidence,
            created_by=None,
            is_gold_star=False,
            is_valid_manual_label=False,
            token_start=label.token_start,
            token_end=label.token_end,
            created_at=switched_at,
        )
        for label, switched_at in rows
    ]


def _heuristic_vote(record_id: int, vote: dict[str, Any]) -> ManualLabelOut:
    """A heuristic's vote on a record, shown like a label row (its id is stable: derived from the vote)."""
    start, end = vote["token_start"], vote["token_end"]
    return ManualLabelOut(
        id=heuristic_results.vote_id(vote["source_id"], vote["chunk_id"], vote["position"]),
        record_id=record_id,
        labeling_task_id=vote["labeling_task_id"],
        label_id=vote["label_id"],
        source_type=SourceType.INFORMATION_SOURCE.value,
        source_id=vote["source_id"],
        return_type=(ReturnType.YIELD if start is not None else ReturnType.RETURN).value,
        confidence=float(vote["confidence"]),
        created_by=None,
        is_gold_star=False,
        is_valid_manual_label=False,
        token_start=start,
        token_end=end,
        created_at=vote["created_at"],
    )


def _task_of_record(record_id: int, task_id: uuid.UUID, project: ProjectDep, session: SessionDep) -> LabelingTask:
    """The path's task, once the path's record is known to be the project's (404 for either otherwise)."""
    labeling.get_record(session, project.id, record_id)
    return labeling.get_task(session, project.id, task_id)


RecordTaskDep = Annotated[LabelingTask, Depends(_task_of_record)]  # a {record_id}/…/{task_id} route's task


@router.put(
    "/records/{record_id}/labeling-tasks/{task_id}/classification",
    response_model=RecordTaskLabels,
    dependencies=[allow(Action.LABEL)],
)
def set_classification(
    record_id: int,
    task: RecordTaskDep,
    permit: ProjectPermit,
    body: RecordLabelsIn,
    user: CurrentUser,
    session: SessionDep,
    via: ViaDep,
) -> RecordTaskLabels:
    """Set the current user's label (several for a multi-label task) of a classification task; an empty list clears."""
    labeling.require_classification(task)
    labels = labeling.labels_of_task(session, task, body.ids())
    labeling.set_classification(session, task, user, [record_id], labels, via=via)
    return record_task_labels(session, permit, record_id, task.id)


@router.delete(
    "/records/{record_id}/labeling-tasks/{task_id}/classification",
    response_model=RecordTaskLabels,
    dependencies=[allow(Action.LABEL)],
)
def clear_classification(
    record_id: int, task: RecordTaskDep, permit: ProjectPermit, user: CurrentUser, session: SessionDep, via: ViaDep
) -> RecordTaskLabels:
    """Remove the current user's classification labels of a task from a record."""
    labeling.require_classification(task)
    labeling.set_classification(session, task, user, [record_id], [], via=via)
    return record_task_labels(session, permit, record_id, task.id)


@router.post(
    "/records/{record_id}/labeling-tasks/{task_id}/spans",
    response_model=SpanOut,
    status_code=201,
    dependencies=[allow(Action.LABEL)],
)
async def add_span(
    record_id: int,
    task_id: uuid.UUID,
    body: SpanIn,
    project: ProjectDep,
    user: CurrentUser,
    session: SessionDep,
    response: Response,
    via: ViaDep,
) -> SpanOut:
    """Add a span of the current user, by token range or by character range (snapped outward to whole tokens)."""

    def check() -> str:
        labeling.get_record(session, project.id, record_id)
        task = labeling.get_task(session, project.id, task_id)
        labeling.require_extraction(task)
        labeling.labels_of_task(session, task, [body.label_id])
        attribute = session.get(Attribute, task.attribute_id)
        assert attribute is not None
        return attribute.name

    attribute_name = await run_in_threadpool(check)
    tokens = await ServiceClient("tokenizer").json("GET", f"/records/{record_id}/tokens", params={"attribute": attribute_name})
    doc = tokens["attributes"][attribute_name]

    def store() -> SpanOut:
        task = labeling.get_task(session, project.id, task_id)
        label = labeling.get_label(session, project.id, body.label_id)
        span = labeling.snap_span(
            doc["tokens"],
            doc["text"],
            token_start=body.token_start,
            token_end=body.token_end,
            char_start=body.char_start,
            char_end=body.char_end,
        )
        row, created = labeling.add_span(session, task, user, record_id, label, span, via=via)
        base = ManualLabelOut.model_validate(row).model_dump()
        return SpanOut(**base, char_start=span.char_start, char_end=span.char_end, text=span.text, created=created)

    out = await run_in_threadpool(store)
    if not out.created:
        response.status_code = 200
    return out


@router.delete("/records/{record_id}/labels/{label_row_id}", status_code=204, dependencies=[allow(Action.LABEL)])
def remove_label(
    record_id: int, label_row_id: uuid.UUID, project: ProjectDep, user: CurrentUser, session: SessionDep, via: ViaDep
) -> Response:
    """Remove one of the current user's manual labels (a span or a classification label)."""
    labeling.remove_manual_label(session, project.id, user, record_id, label_row_id, via=via)
    return Response(status_code=204)


def _gold_star_handler(on: bool, doc: str) -> Callable[..., RecordTaskLabels]:
    """One handler for setting (``on``) and withdrawing the caller's gold star on a record's task."""

    def handler(
        record_id: int, task: RecordTaskDep, permit: ProjectPermit, user: CurrentUser, session: SessionDep, via: ViaDep
    ) -> RecordTaskLabels:
        labeling.set_gold_star(session, task, user, record_id, on, via=via)
        return record_task_labels(session, permit, record_id, task.id)

    handler.__name__ = "gold_star" if on else "withdraw_gold_star"
    handler.__doc__ = doc
    return handler


_GOLD_STAR = "/records/{record_id}/labeling-tasks/{task_id}/gold-star"
gold_star = router.put(_GOLD_STAR, response_model=RecordTaskLabels, dependencies=[allow(Action.SET_GOLD)])(
    _gold_star_handler(
        True, "Make the current user's labels on this record the gold standard for the task (resolves disagreement)."
    )
)
withdraw_gold_star = router.delete(_GOLD_STAR, response_model=RecordTaskLabels, dependencies=[allow(Action.SET_GOLD)])(
    _gold_star_handler(False, "Withdraw the current user's gold star.")
)


@router.post("/manual-labels/bulk", dependencies=[allow(Action.BULK_LABEL)])
def bulk_label(body: BulkIn, project: ProjectDep, user: CurrentUser, session: SessionDep) -> dict[str, Any]:
    """Set the current user's classification label(s) on many records (ids or a filter) in one transaction."""
    task = labeling.get_task(session, project.id, body.labeling_task_id)
    labeling.require_classification(task)
    labels = labeling.labels_of_task(session, task, body.ids())
    if not labels:
        raise problem(422, "give at least one label (label_id or label_ids)")
    if body.record_ids is not None:
        wanted = set(body.record_ids)
        found = (
            set(session.scalars(select(Record.id).where(Record.project_id == project.id, Record.id.in_(wanted))))
            if wanted
            else set()
        )
        missing = sorted(wanted - found)
        if missing:
            shown = ", ".join(str(i) for i in missing[:10])
            raise problem(
                422, f"{len(missing)} record id(s) do not exist in this project: {shown}{' …' if len(missing) > 10 else ''}"
            )
        ids = sorted(found)
    else:
        assert body.filter is not None
        labeling.task_attribute(session, project.id, body.filter.attribute)
        value = Record.data[body.filter.attribute].astext
        condition = {
            "EQUAL": value == body.filter.value,
            "CONTAINS": value.contains(body.filter.value, autoescape=True),
            "BEGINS_WITH": value.startswith(body.filter.value, autoescape=True),
            "ENDS_WITH": value.endswith(body.filter.value, autoescape=True),
        }[body.filter.operator]
        ids = list(session.scalars(select(Record.id).where(Record.project_id == project.id, condition).order_by(Record.id)))
    written = labeling.set_classification(session, task, user, ids, labels, via=Via.BULK)
    return {"records": len(ids), "labels_written": written, "labeling_task_id": str(task.id)}
