"""Label history: each change of an annotator's manual labels of a task on a record, kept in ``label_history``.

Every manual-label write path records its changes here in the same transaction: a classification label set (single
record or bulk), a span added or removed, an upload's labels, a snapshot import's labels and a revert. An entry holds
the annotator whose labels changed, who changed them (the annotator, or an engineer reverting them), how (``via``),
and the labels before and after (``{"label_id", "name", "token_start", "token_end"}``, names as they were then).
Writes that change nothing (the same labels set again) leave no entry. ``event`` says what an entry records: ``LABELS``
(the labels changed), ``GOLD_STAR_SET`` / ``GOLD_STAR_WITHDRAWN`` (the annotator's labels became, or stopped being, the
gold standard: old and new labels are the same), ``LABEL_DELETED`` / ``TASK_DELETED`` (labels removed by deleting a
label or a whole task; a deleted task's entries stay).
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from fastapi import Request
from sqlalchemy import BigInteger, any_, bindparam, delete, insert, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from shared_model.jobs import PROGRESS_CHANNEL
from shared_model.models import Label, LabelHistory, LabelingTask, ReturnType, SourceType
from shared_model.models import RecordLabelAssociation as RLA
from shared_model.service import problem

from . import valid_labels

Labels = list[dict[str, Any]]


class Via(StrEnum):
    """How a manual label was changed."""

    UI = "UI"  # the web UI (a session cookie)
    SDK = "SDK"  # an API token (the SDK, scripts)
    BULK = "BULK"  # a bulk action on many records
    UPLOAD = "UPLOAD"  # labels in an uploaded file
    SNAPSHOT = "SNAPSHOT"  # a snapshot import
    REVERT = "REVERT"  # an engineer reverted an annotator's labels


class Event(StrEnum):
    """What a history entry records."""

    LABELS = "LABELS"
    GOLD_STAR_SET = "GOLD_STAR_SET"
    GOLD_STAR_WITHDRAWN = "GOLD_STAR_WITHDRAWN"
    LABEL_DELETED = "LABEL_DELETED"
    TASK_DELETED = "TASK_DELETED"


def via_of(request: Request) -> Via:
    """UI for a session cookie, SDK for a Bearer token."""
    return Via.SDK if request.headers.get("authorization", "").lower().startswith("bearer ") else Via.UI


def _ids(record_ids: Sequence[int]) -> Any:
    return bindparam("history_ids", list(record_ids), type_=ARRAY(BigInteger))


def entry(label_id: uuid.UUID, name: str, token_start: int | None, token_end: int | None) -> dict[str, Any]:
    return {"label_id": str(label_id), "name": name, "token_start": token_start, "token_end": token_end}


def _key(labels: Labels) -> list[tuple[str, int, int]]:
    return sorted((x["label_id"], x["token_start"] or -1, x["token_end"] or -1) for x in labels)


def current_labels(
    session: Session, task_id: uuid.UUID, annotator_id: uuid.UUID | None, record_ids: Sequence[int]
) -> dict[int, Labels]:
    """The annotator's manual labels of the task on these records (records without any are missing)."""
    if not record_ids:
        return {}
    rows = session.execute(
        select(RLA.record_id, RLA.label_id, Label.name, RLA.token_start, RLA.token_end)
        .join(Label, Label.id == RLA.label_id)
        .where(
            RLA.labeling_task_id == task_id,
            RLA.source_type == SourceType.MANUAL,
            RLA.created_by == annotator_id if annotator_id is not None else RLA.created_by.is_(None),
            RLA.record_id == any_(_ids(record_ids)),
        )
        .order_by(RLA.record_id, RLA.token_start, Label.name)
    ).all()
    out: dict[int, Labels] = defaultdict(list)
    for record_id, label_id, name, start, end in rows:
        out[record_id].append(entry(label_id, name, start, end))
    return dict(out)


def record(
    session: Session,
    task: LabelingTask,
    annotator_id: uuid.UUID | None,
    changed_by: uuid.UUID | None,
    via: Via,
    before: dict[int, Labels],
    after: dict[int, Labels],
    record_ids: Iterable[int],
    event: Event = Event.LABELS,
) -> int:
    """Keep one entry per record whose labels differ between ``before`` and ``after`` (for a gold-star event: every
    record given, its labels unchanged); returns how many."""
    rows: list[dict[str, Any]] = []
    changed: list[int] = []
    for record_id in record_ids:
        old, new = before.get(record_id, []), after.get(record_id, [])
        if _key(old) != _key(new) or event in (Event.GOLD_STAR_SET, Event.GOLD_STAR_WITHDRAWN):
            changed.append(record_id)
            rows.append(
                {
                    "project_id": task.project_id,
                    "record_id": record_id,
                    "labeling_task_id": task.id,
                    "annotator_id": annotator_id,
                    "changed_by": changed_by,
                    "via": via.value,
                    "event": event.value,
                    "old_labels": old,
                    "new_labels": new,
                }
            )
    if rows:
        session.execute(insert(LabelHistory), rows)
        publish(session, task, changed)
    return len(rows)


LABELS_EVENT = "labels"  # the ``type`` of a label-change event on the progress channel (jobs' events have none)
MAX_EVENT_RECORDS = 500  # more records changed at once: one event without record ids ("many records")


def publish(session: Session, task: LabelingTask, record_ids: Sequence[int] | None) -> None:
    """Tell the websockets that manual labels of ``task`` changed on these records (``None``: on many records): sent
    with the transaction's commit (NOTIFY), relayed by gateway/routers/ws.py to members whose work holds the records."""
    ids = sorted(set(record_ids)) if record_ids is not None else None
    payload = {
        "type": LABELS_EVENT,
        "project_id": str(task.project_id),
        "labeling_task_id": str(task.id),
        "record_ids": ids if ids is not None and len(ids) <= MAX_EVENT_RECORDS else None,
    }
    session.execute(text("SELECT pg_notify(:c, :p)"), {"c": PROGRESS_CHANNEL, "p": json.dumps(payload)})


def imported_sql(where: str) -> str:
    """SQL keeping one history entry per (record, task, annotator) of the manual labels matching ``where`` (on
    ``record_label_association a``), as new labels (old: none) with ``via`` and ``changed_by`` = the annotator; the
    caller binds ``%(via)s`` and what ``where`` uses."""
    return (
        "INSERT INTO label_history (project_id, record_id, labeling_task_id, annotator_id, changed_by, via, old_labels,"
        " new_labels, created_at)"
        " SELECT a.project_id, a.record_id, a.labeling_task_id, a.created_by, a.created_by, %(via)s, '[]'::jsonb,"
        " jsonb_agg(jsonb_build_object('label_id', a.label_id, 'name', l.name, 'token_start', a.token_start,"
        " 'token_end', a.token_end) ORDER BY a.token_start, l.name), now()"
        f" FROM record_label_association a JOIN label l ON l.id = a.label_id WHERE a.source_type = 'MANUAL' AND {where}"
        " GROUP BY a.project_id, a.record_id, a.labeling_task_id, a.created_by"
    )


_LABEL_JSON = "jsonb_build_object('label_id', a.label_id, 'name', l.name, 'token_start', a.token_start, 'token_end', a.token_end)"


def record_deletion(
    session: Session, task_id: uuid.UUID, label_id: uuid.UUID | None, changed_by: uuid.UUID | None, via: Via
) -> int:
    """Before a label (``label_id``) or a whole task (``label_id`` None) is deleted: one entry per (record, annotator)
    whose manual labels it removes, old → the labels that stay (none for a task), as ``LABEL_DELETED`` /
    ``TASK_DELETED``. Set-based (one INSERT … SELECT), so a task with a million labels is one statement."""
    event = Event.TASK_DELETED if label_id is None else Event.LABEL_DELETED
    touched = (
        ""
        if label_id is None
        else (
            " AND EXISTS (SELECT 1 FROM record_label_association d WHERE d.labeling_task_id = a.labeling_task_id"
            " AND d.record_id = a.record_id AND d.created_by IS NOT DISTINCT FROM a.created_by"
            " AND d.source_type = 'MANUAL' AND d.label_id = :label_id)"
        )
    )
    kept = (
        "'[]'::jsonb"
        if label_id is None
        else (
            f"coalesce(jsonb_agg({_LABEL_JSON} ORDER BY a.token_start, l.name) FILTER (WHERE a.label_id <> :label_id),"
            " '[]'::jsonb)"
        )
    )
    task = session.get(LabelingTask, task_id)
    if task is not None:
        publish(session, task, None)
    result = session.execute(
        text(
            "INSERT INTO label_history (project_id, record_id, labeling_task_id, annotator_id, changed_by, via, event,"
            " old_labels, new_labels, created_at)"
            " SELECT a.project_id, a.record_id, a.labeling_task_id, a.created_by, :changed_by, :via, :event,"
            f" jsonb_agg({_LABEL_JSON} ORDER BY a.token_start, l.name), {kept}, now()"
            " FROM record_label_association a JOIN label l ON l.id = a.label_id"
            f" WHERE a.source_type = 'MANUAL' AND a.labeling_task_id = :task_id{touched}"
            " GROUP BY a.project_id, a.record_id, a.labeling_task_id, a.created_by"
        ),
        {"task_id": task_id, "label_id": label_id, "changed_by": changed_by, "via": via.value, "event": event.value},
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


# --- reading --------------------------------------------------------------------------------------------------------


def entries(
    session: Session,
    project_id: uuid.UUID,
    *,
    record_id: int | None = None,
    task_id: uuid.UUID | None = None,
    annotator_id: uuid.UUID | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> list[LabelHistory]:
    """History entries of the project, newest first, optionally of one record / task / annotator; ``before_id`` pages."""
    query = select(LabelHistory).where(LabelHistory.project_id == project_id)
    if record_id is not None:
        query = query.where(LabelHistory.record_id == record_id)
    if task_id is not None:
        query = query.where(LabelHistory.labeling_task_id == task_id)
    if annotator_id is not None:
        query = query.where(LabelHistory.annotator_id == annotator_id)
    if before_id is not None:
        query = query.where(LabelHistory.id < before_id)
    return list(session.scalars(query.order_by(LabelHistory.id.desc()).limit(limit)))


# --- revert ---------------------------------------------------------------------------------------------------------


def revert(
    session: Session,
    project_id: uuid.UUID,
    annotator_id: uuid.UUID,
    changed_by: uuid.UUID,
    *,
    record_ids: Sequence[int] | None,
    task_id: uuid.UUID | None,
    since: datetime | None,
) -> dict[str, int]:
    """Revert ``annotator_id``'s manual labels in the project (only on ``record_ids`` / of ``task_id`` when given).

    Without ``since`` their labels are removed. With ``since`` each (record, task) they changed since then goes back to
    the labels it had before their first change since then (labels deleted meanwhile are left out). Each change is
    recorded (via REVERT, changed by the caller); the decided labels are recomputed."""
    tasks = {
        t.id: t
        for t in session.scalars(
            select(LabelingTask).where(LabelingTask.project_id == project_id, *([LabelingTask.id == task_id] if task_id else []))
        )
    }
    if task_id is not None and task_id not in tasks:
        raise problem(404, f"labeling task {task_id} does not exist in this project")
    target: dict[uuid.UUID, dict[int, Labels]] = defaultdict(dict)  # task -> record -> labels to restore
    if since is None:
        query = select(RLA.labeling_task_id, RLA.record_id).where(
            RLA.project_id == project_id, RLA.source_type == SourceType.MANUAL, RLA.created_by == annotator_id
        )
        if task_id is not None:
            query = query.where(RLA.labeling_task_id == task_id)
        if record_ids is not None:
            query = query.where(RLA.record_id == any_(_ids(record_ids)))
        for task_of, record_id in session.execute(query.distinct()).tuples().all():
            target[task_of][record_id] = []
    else:
        changes = select(LabelHistory.labeling_task_id, LabelHistory.record_id, LabelHistory.old_labels).where(
            LabelHistory.project_id == project_id,
            LabelHistory.annotator_id == annotator_id,
            LabelHistory.created_at >= since,
        )
        if task_id is not None:
            changes = changes.where(LabelHistory.labeling_task_id == task_id)
        if record_ids is not None:
            changes = changes.where(LabelHistory.record_id == any_(_ids(record_ids)))
        for task_of, record_id, old in session.execute(changes.order_by(LabelHistory.id.desc())).tuples().all():
            if task_of not in tasks:
                continue  # the task was deleted since (its entries stay as an audit trail)
            target[task_of][record_id] = old  # the oldest entry since then is read last and wins
    all_records = sorted({r for per_task in target.values() for r in per_task})
    valid_labels.lock_records(session, all_records)
    changed = 0
    for task_key, wanted in target.items():
        task = tasks[task_key]
        ids = sorted(wanted)
        existing_labels = set(session.scalars(select(Label.id).where(Label.labeling_task_id == task.id)))
        before = current_labels(session, task.id, annotator_id, ids)
        gold = set(
            session.scalars(
                select(RLA.record_id).where(
                    RLA.labeling_task_id == task.id,
                    RLA.source_type == SourceType.MANUAL,
                    RLA.created_by == annotator_id,
                    RLA.is_gold_star.is_(True),
                    RLA.record_id == any_(_ids(ids)),
                )
            )
        )
        session.execute(
            delete(RLA)
            .where(
                RLA.labeling_task_id == task.id,
                RLA.source_type == SourceType.MANUAL,
                RLA.created_by == annotator_id,
                RLA.record_id == any_(_ids(ids)),
            )
            .execution_options(synchronize_session=False)
        )
        rows = [
            {
                "id": uuid.uuid4(),
                "project_id": project_id,
                "record_id": record_id,
                "labeling_task_id": task.id,
                "label_id": uuid.UUID(x["label_id"]),
                "source_type": SourceType.MANUAL,
                "return_type": ReturnType.YIELD if x["token_start"] is not None else ReturnType.RETURN,
                "confidence": 1.0,
                "created_by": annotator_id,
                "is_gold_star": record_id in gold,
                "is_valid_manual_label": False,
                "token_start": x["token_start"],
                "token_end": x["token_end"],
            }
            for record_id in ids
            for x in wanted[record_id]
            if uuid.UUID(x["label_id"]) in existing_labels
        ]
        if rows:
            session.execute(insert(RLA), rows)
        after = current_labels(session, task.id, annotator_id, ids)
        changed += record(session, task, annotator_id, changed_by, Via.REVERT, before, after, ids)
        valid_labels.recompute(session, task.id, ids)
    return {"records": len(all_records), "changes": changed}
