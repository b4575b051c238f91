"""Work for annotators: distributing an assignment's records over its annotators, their queues and progress, and the
record scope an annotator's role is held to (asked by gateway/policies.py, the one place that decides access).

Distribution is deterministic: with records r0, r1, … (in the source's order), annotators a0 … a(k-1) (in the order
given) and a redundancy m (1 ≤ m ≤ k), record ri goes to the annotators a((i·m + j) mod k) for j = 0 … m-1 — m
different annotators per record, and every annotator gets ⌊n·m/k⌋ or ⌈n·m/k⌉ records.

A record of an annotator's queue is *done* when the annotator has a manual label on it (of the assignment's labeling
task, or of any task when the assignment names none); *skipped* when they skipped it and it is not done.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, and_, exists, func, insert, select
from sqlalchemy.orm import Session

from shared_model.models import RecordLabelAssociation as RLA
from shared_model.models import SourceType, WorkAssignment, WorkAssignmentAnnotator, WorkAssignmentItem
from shared_model.service import problem

MAX_ITEMS = 1_000_000  # queue entries one assignment may create (records × redundancy)


def distribute(record_ids: Sequence[int], annotator_ids: Sequence[uuid.UUID], redundancy: int) -> dict[uuid.UUID, list[int]]:
    """Each record to ``redundancy`` different annotators, round robin (see the module's docstring)."""
    k = len(annotator_ids)
    if not 1 <= redundancy <= k:
        raise problem(422, f"redundancy: {redundancy} must be between 1 and the number of annotators ({k})")
    out: dict[uuid.UUID, list[int]] = {a: [] for a in annotator_ids}
    for i, record_id in enumerate(record_ids):
        for j in range(redundancy):
            out[annotator_ids[(i * redundancy + j) % k]].append(record_id)
    return out


def store_items(session: Session, assignment: WorkAssignment, queues: dict[uuid.UUID, list[int]]) -> None:
    rows = [
        {
            "assignment_id": assignment.id,
            "annotator_id": annotator,
            "record_id": record_id,
            "project_id": assignment.project_id,
            "position": position,
        }
        for annotator, ids in queues.items()
        for position, record_id in enumerate(ids)
    ]
    for start in range(0, len(rows), 10_000):
        session.execute(insert(WorkAssignmentItem), rows[start : start + 10_000])


def _done(assignment: WorkAssignment) -> ColumnElement[bool]:
    """Whether the item's annotator has a manual label on its record (of the assignment's task when it names one)."""
    conditions = [
        RLA.record_id == WorkAssignmentItem.record_id,
        RLA.created_by == WorkAssignmentItem.annotator_id,
        RLA.source_type == SourceType.MANUAL,
    ]
    if assignment.labeling_task_id is not None:
        conditions.append(RLA.labeling_task_id == assignment.labeling_task_id)
    return exists().where(and_(*conditions))


@dataclass
class Progress:
    annotator_id: uuid.UUID
    assigned: int
    done: int
    skipped: int
    due_count: int
    comment: str | None


def progress(session: Session, assignment: WorkAssignment, annotator_id: uuid.UUID | None = None) -> list[Progress]:
    """Per annotator of the assignment (or only ``annotator_id``): assigned, done and skipped records."""
    done = _done(assignment)
    counts = (
        select(
            WorkAssignmentItem.annotator_id,
            func.count(),
            func.count().filter(done),
            func.count().filter(and_(WorkAssignmentItem.skipped, ~done)),
        )
        .where(WorkAssignmentItem.assignment_id == assignment.id)
        .group_by(WorkAssignmentItem.annotator_id)
    )
    found: dict[uuid.UUID, tuple[int, int, int]] = {a: (n, d, k) for a, n, d, k in session.execute(counts).tuples()}
    query = select(WorkAssignmentAnnotator).where(WorkAssignmentAnnotator.assignment_id == assignment.id)
    if annotator_id is not None:
        query = query.where(WorkAssignmentAnnotator.annotator_id == annotator_id)
    out = []
    for member in session.scalars(query.order_by(WorkAssignmentAnnotator.annotator_id)):
        assigned, n_done, skipped = found.get(member.annotator_id, (0, 0, 0))
        out.append(Progress(member.annotator_id, assigned, n_done, skipped, member.due_count, member.comment))
    return out


def next_record(
    session: Session, assignment: WorkAssignment, annotator_id: uuid.UUID, include_skipped: bool
) -> tuple[int, int] | None:
    """(record id, position) of the annotator's first record that is not done (nor skipped, unless
    ``include_skipped``), or None when there is none."""
    query = select(WorkAssignmentItem.record_id, WorkAssignmentItem.position).where(
        WorkAssignmentItem.assignment_id == assignment.id,
        WorkAssignmentItem.annotator_id == annotator_id,
        ~_done(assignment),
    )
    if not include_skipped:
        query = query.where(~WorkAssignmentItem.skipped)
    row = session.execute(query.order_by(WorkAssignmentItem.position).limit(1)).first()
    return (int(row[0]), int(row[1])) if row is not None else None


def item(session: Session, assignment_id: uuid.UUID, annotator_id: uuid.UUID, record_id: int) -> WorkAssignmentItem:
    found = session.get(WorkAssignmentItem, (assignment_id, annotator_id, record_id))
    if found is None:
        raise problem(404, f"record {record_id} is not in your queue of assignment {assignment_id}")
    return found


def queue_record_ids(session: Session, assignment_id: uuid.UUID, annotator_id: uuid.UUID) -> list[int]:
    return list(
        session.scalars(
            select(WorkAssignmentItem.record_id)
            .where(WorkAssignmentItem.assignment_id == assignment_id, WorkAssignmentItem.annotator_id == annotator_id)
            .order_by(WorkAssignmentItem.position)
        )
    )


# --- the annotator's record scope (asked by gateway/policies.py) ------------------------------------------------------


def record_access(session: Session, project_id: uuid.UUID, annotator_id: uuid.UUID, record_id: int) -> bool | None:
    """None when the record is in none of the annotator's assignments of the project; else whether one of those
    assignments has its bias guard switched off (then the annotator may see others' labels and heuristic votes)."""
    guards = list(
        session.scalars(
            select(WorkAssignment.bias_guard)
            .join(WorkAssignmentItem, WorkAssignmentItem.assignment_id == WorkAssignment.id)
            .where(
                WorkAssignmentItem.project_id == project_id,
                WorkAssignmentItem.annotator_id == annotator_id,
                WorkAssignmentItem.record_id == record_id,
            )
        )
    )
    if not guards:
        return None
    return not all(guards)


def assigned_records(project_id: uuid.UUID, annotator_id: uuid.UUID) -> Select[int]:
    """The ids of the records assigned to the annotator in the project (a subquery for ``Record.id.in_(...)``)."""
    return select(WorkAssignmentItem.record_id).where(
        WorkAssignmentItem.project_id == project_id, WorkAssignmentItem.annotator_id == annotator_id
    )
