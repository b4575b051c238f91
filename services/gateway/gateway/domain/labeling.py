"""Labeling tasks, labels and manual labels (classification, multi-label, spans, gold star, bulk).

Why one module of ~490 lines: every write of a manual label goes through it (so that its history and the decided label
are kept on each path); the resolution rule, the history and the valid-label computation are modules of
their own.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, any_, bindparam, delete, func, insert, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from shared_model import heuristic_results
from shared_model.models import (
    Attribute,
    Comment,
    CommentTarget,
    DataType,
    HeuristicStatistics,
    InformationSource,
    Label,
    LabelingTask,
    LookupList,
    Record,
    ReturnType,
    SourceType,
    TaskTarget,
    TaskType,
    User,
    WeakSupervisionRun,
)
from shared_model.models import RecordLabelAssociation as RLA
from shared_model.service import problem
from shared_model.service.crud import get_in_project

from . import label_history, lookup_lists, valid_labels
from .label_history import Via

CLASSIFICATION = (TaskType.MULTICLASS_CLASSIFICATION, TaskType.MULTILABEL_CLASSIFICATION)


# --- tasks and labels -----------------------------------------------------------------------------------------------


def get_task(session: Session, project_id: uuid.UUID, task_id: uuid.UUID) -> LabelingTask:
    """The project's labeling task (404 otherwise)."""
    return get_in_project(session, LabelingTask, task_id, project_id, "labeling task")


def get_label(session: Session, project_id: uuid.UUID, label_id: uuid.UUID) -> Label:
    """The project's label (404 otherwise)."""
    return get_in_project(session, Label, label_id, project_id, "label")


def task_attribute(session: Session, project_id: uuid.UUID, attribute: str | uuid.UUID) -> Attribute:
    """An attribute of the project by id or name (422 naming it otherwise)."""
    query = select(Attribute).where(Attribute.project_id == project_id)
    if isinstance(attribute, uuid.UUID):
        query = query.where(Attribute.id == attribute)
    else:
        try:
            query = query.where(Attribute.id == uuid.UUID(attribute))
        except ValueError:
            query = query.where(Attribute.name == attribute)
    found = session.scalar(query)
    if found is None:
        raise problem(422, f"attribute {attribute!s} does not exist in this project")
    return found


def create_task(session: Session, project_id: uuid.UUID, name: str, task_type: TaskType, attribute: str | None) -> LabelingTask:
    """A task on an attribute (``attribute`` given) or on the whole record; extraction needs a TEXT attribute."""
    name = name.strip()
    if session.scalar(select(LabelingTask.id).where(LabelingTask.project_id == project_id, LabelingTask.name == name)):
        raise problem(409, f"a labeling task named {name!r} already exists")
    attribute_row = task_attribute(session, project_id, attribute) if attribute else None
    if task_type == TaskType.INFORMATION_EXTRACTION:
        if attribute_row is None:
            raise problem(422, "an INFORMATION_EXTRACTION task needs a TEXT attribute; it cannot target the whole record")
        if attribute_row.data_type != DataType.TEXT:
            raise problem(
                422, f"an INFORMATION_EXTRACTION task needs a TEXT attribute; {attribute_row.name!r} is {attribute_row.data_type}"
            )
    task = LabelingTask(
        project_id=project_id,
        name=name,
        attribute_id=attribute_row.id if attribute_row else None,
        task_target=TaskTarget.ON_ATTRIBUTE if attribute_row else TaskTarget.ON_WHOLE_RECORD,
        task_type=task_type,
    )
    session.add(task)
    session.flush()
    return task


def rename_task(session: Session, task: LabelingTask, name: str) -> None:
    """Rename a task (409 if another task has the name)."""
    name = name.strip()
    clash = session.scalar(
        select(LabelingTask.id).where(
            LabelingTask.project_id == task.project_id, LabelingTask.name == name, LabelingTask.id != task.id
        )
    )
    if clash:
        raise problem(409, f"a labeling task named {name!r} already exists")
    task.name = name


def _check_hotkey(session: Session, task: LabelingTask, hotkey: str | None, exclude: uuid.UUID | None) -> str | None:
    if hotkey is None or hotkey == "":
        return None
    if len(hotkey) != 1 or hotkey.isspace():
        raise problem(422, f"hotkey {hotkey!r} must be exactly one non-space character")
    for other in session.scalars(select(Label).where(Label.labeling_task_id == task.id)):
        if other.id != exclude and other.hotkey and other.hotkey.lower() == hotkey.lower():
            raise problem(409, f"hotkey {hotkey!r} is already used by label {other.name!r} of task {task.name!r}")
    return hotkey


def _check_label_name(session: Session, task: LabelingTask, name: str, exclude: uuid.UUID | None) -> str:
    name = name.strip()
    if not name:
        raise problem(422, "a label name must not be empty")
    clash = session.scalar(select(Label.id).where(Label.labeling_task_id == task.id, Label.name == name, Label.id != exclude))
    if clash:
        raise problem(409, f"task {task.name!r} already has a label named {name!r}")
    return name


def create_label(session: Session, task: LabelingTask, name: str, color: str, hotkey: str | None) -> Label:
    """A label of ``task``; an extraction label also gets a lookup list of its name, as in the original."""
    label = Label(
        project_id=task.project_id,
        labeling_task_id=task.id,
        name=_check_label_name(session, task, name, None),
        color=color,
        hotkey=_check_hotkey(session, task, hotkey, None),
    )
    session.add(label)
    session.flush()
    if task.task_type == TaskType.INFORMATION_EXTRACTION:
        lookup_lists.list_for_label(session, task.project_id, label.id, label.name)
    return label


def update_label(
    session: Session, label: Label, name: str | None, color: str | None, hotkey: str | None, clear_hotkey: bool
) -> None:
    """Rename (associations stay: they reference the id), recolor or re-key a label; its linked lookup list follows a
    rename when that name is free."""
    task = session.get(LabelingTask, label.labeling_task_id)
    assert task is not None
    if name is not None and name.strip() != label.name:
        label.name = _check_label_name(session, task, name, label.id)
        linked = session.scalar(select(LookupList).where(LookupList.label_id == label.id))
        if linked is not None:
            try:
                linked.python_name = lookup_lists.check_name(session, task.project_id, label.name, exclude=linked.id)
                linked.name = label.name
            except Exception:  # noqa: BLE001 - a taken list name leaves the list as it is
                pass
    if color is not None:
        label.color = color
    if clear_hotkey:
        label.hotkey = None
    elif hotkey is not None:
        label.hotkey = _check_hotkey(session, task, hotkey, label.id)


def _rla_counts(
    session: Session, *conditions: Any, label_id: uuid.UUID | None = None, task_id: uuid.UUID | None = None
) -> dict[str, int]:
    """Labels by source type: RLA rows matching ``conditions``, plus the heuristic votes (kept in
    ``heuristic_result``) of ``label_id`` or ``task_id`` as ``INFORMATION_SOURCE``."""
    rows = session.execute(select(RLA.source_type, func.count()).where(*conditions).group_by(RLA.source_type)).all()
    counts = {str(source): 0 for source in SourceType}
    counts.update({str(source): int(n) for source, n in rows})
    counts[str(SourceType.INFORMATION_SOURCE)] += heuristic_results.result_counts(session, label_id=label_id, task_id=task_id)
    return counts


def _comment_count(session: Session, target: CommentTarget, ids: Sequence[uuid.UUID]) -> int:
    if not ids:
        return 0
    return int(
        session.scalar(
            select(func.count())
            .select_from(Comment)
            .where(Comment.target_type == target, Comment.target_id.in_([str(i) for i in ids]))
        )
        or 0
    )


def label_deletion(session: Session, label: Label) -> dict[str, Any]:
    """What deleting a label removes."""
    return {
        "labels": 1,
        "record_label_associations": _rla_counts(session, RLA.label_id == label.id, label_id=label.id),
        "heuristic_statistics": session.scalar(
            select(func.count()).select_from(HeuristicStatistics).where(HeuristicStatistics.label_id == label.id)
        ),
        "comments": _comment_count(session, CommentTarget.LABEL, [label.id]),
        "lookup_lists_unlinked": session.scalar(
            select(func.count()).select_from(LookupList).where(LookupList.label_id == label.id)
        ),
    }


def delete_label(session: Session, label: Label, changed_by: uuid.UUID | None = None, via: Via = Via.UI) -> dict[str, Any]:
    """Delete a label with its associations; the task's valid manual labels are recomputed for the records touched.
    The annotators' labels it removes are kept in the label history (LABEL_DELETED, changed by ``changed_by``)."""
    report = label_deletion(session, label)
    records = list(
        session.scalars(select(RLA.record_id).where(RLA.label_id == label.id, RLA.source_type == SourceType.MANUAL).distinct())
    )
    valid_labels.lock_records(session, records)
    label_history.record_deletion(session, label.labeling_task_id, label.id, changed_by, via)
    session.execute(delete(Comment).where(Comment.target_type == CommentTarget.LABEL, Comment.target_id == str(label.id)))
    task_id = label.labeling_task_id
    session.delete(label)
    session.flush()
    valid_labels.recompute(session, task_id, records)
    return report


def task_deletion(session: Session, task: LabelingTask) -> dict[str, Any]:
    """What deleting a task removes."""
    label_ids = list(session.scalars(select(Label.id).where(Label.labeling_task_id == task.id)))
    return {
        "labeling_tasks": 1,
        "labels": len(label_ids),
        "record_label_associations": _rla_counts(session, RLA.labeling_task_id == task.id, task_id=task.id),
        "heuristics": session.scalar(
            select(func.count()).select_from(InformationSource).where(InformationSource.labeling_task_id == task.id)
        ),
        "weak_supervision_runs": session.scalar(
            select(func.count()).select_from(WeakSupervisionRun).where(WeakSupervisionRun.labeling_task_id == task.id)
        ),
        "comments": _comment_count(session, CommentTarget.LABELING_TASK, [task.id])
        + _comment_count(session, CommentTarget.LABEL, label_ids),
        "lookup_lists_unlinked": session.scalar(
            select(func.count()).select_from(LookupList).where(LookupList.label_id.in_(label_ids))
        )
        if label_ids
        else 0,
    }


def delete_task(session: Session, task: LabelingTask, changed_by: uuid.UUID | None = None, via: Via = Via.UI) -> dict[str, Any]:
    """Delete a task with its labels, associations, heuristics and runs (by cascade) and their comments. The manual
    labels it removes are kept in the label history (TASK_DELETED, changed by ``changed_by``; the entries stay)."""
    report = task_deletion(session, task)
    label_history.record_deletion(session, task.id, None, changed_by, via)
    label_ids = [str(i) for i in session.scalars(select(Label.id).where(Label.labeling_task_id == task.id))]
    session.execute(delete(Comment).where(Comment.target_type == CommentTarget.LABEL, Comment.target_id.in_(label_ids)))
    session.execute(delete(Comment).where(Comment.target_type == CommentTarget.LABELING_TASK, Comment.target_id == str(task.id)))
    session.delete(task)
    session.flush()
    return report


# --- manual labels --------------------------------------------------------------------------------------------------


def get_record(session: Session, project_id: uuid.UUID, record_id: int) -> Record:
    """The project's record (404 otherwise)."""
    record = session.get(Record, record_id)
    if record is None or record.project_id != project_id:
        raise problem(404, f"record {record_id} does not exist in this project")
    return record


def labels_of_task(session: Session, task: LabelingTask, label_ids: Sequence[uuid.UUID]) -> list[Label]:
    """The given labels, each checked to exist and to belong to ``task`` (422 naming the offender)."""
    labels: list[Label] = []
    for label_id in dict.fromkeys(label_ids):
        label = session.get(Label, label_id)
        if label is None or label.project_id != task.project_id:
            raise problem(422, f"label {label_id} does not exist in this project")
        if label.labeling_task_id != task.id:
            other = session.get(LabelingTask, label.labeling_task_id)
            raise problem(
                422, f"label {label.name!r} belongs to task {other.name if other else '?'!r}, not to task {task.name!r}"
            )
        labels.append(label)
    return labels


def require_classification(task: LabelingTask) -> None:
    if task.task_type not in CLASSIFICATION:
        raise problem(422, f"task {task.name!r} is an INFORMATION_EXTRACTION task: label spans, not whole records")


def require_extraction(task: LabelingTask) -> None:
    if task.task_type != TaskType.INFORMATION_EXTRACTION:
        raise problem(422, f"task {task.name!r} is a {task.task_type} task: spans belong to INFORMATION_EXTRACTION tasks")


def check_label_count(task: LabelingTask, labels: Sequence[Label]) -> None:
    if task.task_type == TaskType.MULTICLASS_CLASSIFICATION and len(labels) > 1:
        raise problem(422, f"task {task.name!r} is single-label (MULTICLASS_CLASSIFICATION): give one label, not {len(labels)}")


def _user_had_gold(session: Session, user: User, task_id: uuid.UUID, record_ids: Sequence[int]) -> set[int]:
    return set(
        session.scalars(
            select(RLA.record_id).where(
                RLA.labeling_task_id == task_id,
                RLA.source_type == SourceType.MANUAL,
                RLA.created_by == user.id,
                RLA.is_gold_star.is_(True),
                RLA.record_id == any_(bindparam("gold_ids", list(record_ids), type_=ARRAY(BigInteger))),
            )
        )
    )


def set_classification(
    session: Session, task: LabelingTask, user: User, record_ids: Sequence[int], labels: Sequence[Label], *, via: Via
) -> int:
    """Replace ``user``'s classification labels of ``task`` on these records by ``labels`` (none = clear).

    Locks the records, keeps the user's gold star, records the changes in the label history (``via``), recomputes the
    valid-label rule; returns the rows written.
    """
    check_label_count(task, labels)
    ids = sorted(set(record_ids))
    valid_labels.lock_records(session, ids)
    gold = _user_had_gold(session, user, task.id, ids)
    before = label_history.current_labels(session, task.id, user.id, ids)
    new = [label_history.entry(label.id, label.name, None, None) for label in sorted(labels, key=lambda x: x.name)]
    label_history.record(session, task, user.id, user.id, via, before, dict.fromkeys(ids, new), ids)
    session.execute(
        delete(RLA)
        .where(
            RLA.labeling_task_id == task.id,
            RLA.source_type == SourceType.MANUAL,
            RLA.created_by == user.id,
            RLA.record_id == any_(bindparam("record_ids", ids, type_=ARRAY(BigInteger))),
        )
        .execution_options(synchronize_session=False)
    )
    rows = [
        {
            "id": uuid.uuid4(),
            "project_id": task.project_id,
            "record_id": record_id,
            "labeling_task_id": task.id,
            "label_id": label.id,
            "source_type": SourceType.MANUAL,
            "return_type": ReturnType.RETURN,
            "confidence": 1.0,
            "created_by": user.id,
            "is_gold_star": record_id in gold,
            "is_valid_manual_label": False,
        }
        for record_id in ids
        for label in labels
    ]
    if rows:
        session.execute(insert(RLA), rows)
    valid_labels.recompute(session, task.id, ids)
    return len(rows)


@dataclass
class Span:
    """A span snapped to token boundaries: tokens ``[token_start, token_end)`` covering chars ``[char_start, char_end)``."""

    token_start: int
    token_end: int
    char_start: int
    char_end: int
    text: str


def snap_span(
    tokens: list[dict[str, Any]],
    text: str,
    *,
    token_start: int | None = None,
    token_end: int | None = None,
    char_start: int | None = None,
    char_end: int | None = None,
) -> Span:
    """Resolve a token range or a character range (snapped outward to whole tokens) to a span (422 when invalid)."""
    n = len(tokens)
    if token_start is not None or token_end is not None:
        if token_start is None or token_end is None:
            raise problem(422, "a token range needs both token_start and token_end")
        if token_start >= token_end:
            raise problem(
                422, f"token range [{token_start}, {token_end}) is empty; token_end is exclusive and must exceed token_start"
            )
        if token_start < 0 or token_end > n:
            raise problem(422, f"token range [{token_start}, {token_end}) is outside the text's {n} tokens")
        start, end = token_start, token_end
    elif char_start is not None and char_end is not None:
        if char_start >= char_end:
            raise problem(
                422, f"character range [{char_start}, {char_end}) is empty; char_end is exclusive and must exceed char_start"
            )
        if char_start < 0 or char_end > len(text):
            raise problem(422, f"character range [{char_start}, {char_end}) is outside the text's {len(text)} characters")
        covered = [t["i"] for t in tokens if t["end"] > char_start and t["idx"] < char_end]
        if not covered:
            raise problem(422, f"character range [{char_start}, {char_end}) covers no token (only whitespace)")
        start, end = covered[0], covered[-1] + 1
    else:
        raise problem(422, "give a span as token_start/token_end or as char_start/char_end")
    first, last = tokens[start], tokens[end - 1]
    return Span(start, end, first["idx"], last["end"], text[first["idx"] : last["end"]])


def add_span(
    session: Session, task: LabelingTask, user: User, record_id: int, label: Label, span: Span, *, via: Via
) -> tuple[RLA, bool]:
    """Add ``user``'s span (an identical one is returned as it is; a new one is recorded in the label history, ``via``);
    returns the row and whether it is new."""
    valid_labels.lock_records(session, [record_id])
    existing = session.scalar(
        select(RLA).where(
            RLA.record_id == record_id,
            RLA.labeling_task_id == task.id,
            RLA.source_type == SourceType.MANUAL,
            RLA.created_by == user.id,
            RLA.label_id == label.id,
            RLA.token_start == span.token_start,
            RLA.token_end == span.token_end,
        )
    )
    if existing is not None:
        return existing, False
    gold = bool(_user_had_gold(session, user, task.id, [record_id]))
    before = label_history.current_labels(session, task.id, user.id, [record_id])
    row = RLA(
        project_id=task.project_id,
        record_id=record_id,
        labeling_task_id=task.id,
        label_id=label.id,
        source_type=SourceType.MANUAL,
        return_type=ReturnType.YIELD,
        confidence=1.0,
        created_by=user.id,
        is_gold_star=gold,
        token_start=span.token_start,
        token_end=span.token_end,
    )
    session.add(row)
    session.flush()
    after = label_history.current_labels(session, task.id, user.id, [record_id])
    label_history.record(session, task, user.id, user.id, via, before, after, [record_id])
    valid_labels.recompute(session, task.id, [record_id])
    session.refresh(row)
    return row, True


def remove_manual_label(
    session: Session, project_id: uuid.UUID, user: User, record_id: int, rla_id: uuid.UUID, *, via: Via
) -> None:
    """Remove one of ``user``'s manual labels (a span or a classification label) from a record (recorded in the label
    history, ``via``)."""
    valid_labels.lock_records(session, [record_id])
    row = session.get(RLA, rla_id)
    if row is None or row.project_id != project_id or row.record_id != record_id or row.source_type != SourceType.MANUAL:
        raise problem(404, f"manual label {rla_id} does not exist on record {record_id}")
    if row.created_by != user.id:
        raise problem(403, f"manual label {rla_id} belongs to another annotator; only they can remove it")
    task_id = row.labeling_task_id
    task = session.get(LabelingTask, task_id)
    assert task is not None
    before = label_history.current_labels(session, task_id, user.id, [record_id])
    session.delete(row)
    session.flush()
    after = label_history.current_labels(session, task_id, user.id, [record_id])
    label_history.record(session, task, user.id, user.id, via, before, after, [record_id])
    valid_labels.recompute(session, task_id, [record_id])


def set_gold_star(session: Session, task: LabelingTask, user: User, record_id: int, on: bool, via: Via = Via.UI) -> int:
    """Make ``user``'s labels of ``task`` on the record the gold standard (others lose theirs), or withdraw it. Each
    annotator whose gold star changes gets a history entry (GOLD_STAR_SET / GOLD_STAR_WITHDRAWN, changed by ``user``)."""
    valid_labels.lock_records(session, [record_id])
    mine = RLA.created_by == user.id
    base = (RLA.record_id == record_id, RLA.labeling_task_id == task.id, RLA.source_type == SourceType.MANUAL)
    count = int(session.scalar(select(func.count()).select_from(RLA).where(*base, mine)) or 0)
    if on and count == 0:
        raise problem(409, f"you have no labels of task {task.name!r} on record {record_id} to mark as gold")
    rows = list(session.scalars(select(RLA).where(*base)))
    starred_before = {row.created_by for row in rows if row.is_gold_star}
    for row in rows:
        row.is_gold_star = on and row.created_by == user.id if on else (row.is_gold_star and row.created_by != user.id)
    session.flush()
    starred_after = {row.created_by for row in rows if row.is_gold_star}
    for annotator, event in [(a, label_history.Event.GOLD_STAR_SET) for a in starred_after - starred_before] + [
        (a, label_history.Event.GOLD_STAR_WITHDRAWN) for a in starred_before - starred_after
    ]:
        labels = label_history.current_labels(session, task.id, annotator, [record_id])
        label_history.record(session, task, annotator, user.id, via, labels, labels, [record_id], event)
    return valid_labels.recompute(session, task.id, [record_id])
