"""Postgres access: heuristic votes and manual labels read as arrays (plain SQL), results written with COPY."""

from __future__ import annotations

import csv
import io
import uuid
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import srsly
from numpy.typing import NDArray
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from shared_model.db import raw_connection
from shared_model.models import HeuristicRun, InformationSource, Label, LabelingTask, RunState, SourceType, TaskType

from .extraction import Spans
from .label_models.base import Manual, Votes


class NotFound(LookupError):
    """A referenced row does not exist (the HTTP layer makes it a 404)."""


class BadRequest(ValueError):
    """Parameters that do not fit the task (the HTTP layer makes it a 400)."""


@dataclass
class TaskData:
    """Everything a fit needs about one labeling task, as arrays."""

    task_id: uuid.UUID
    project_id: uuid.UUID
    task_type: TaskType
    label_ids: list[uuid.UUID]
    source_ids: list[uuid.UUID]
    record_ids: NDArray[np.int64]
    votes: Votes
    manual: Manual
    spans: Spans | None = None  # extraction: heuristic spans
    manual_spans: Spans | None = None
    label_names: list[str] | None = None  # beside label_ids, for summaries a person reads

    @property
    def is_extraction(self) -> bool:
        return self.task_type == TaskType.INFORMATION_EXTRACTION


def _uuid_list(values: list[Any]) -> list[uuid.UUID]:
    return [v if isinstance(v, uuid.UUID) else uuid.UUID(str(v)) for v in values]


def task_sources(
    session: Session, task_id: uuid.UUID, source_ids: list[uuid.UUID] | None, *, selected_only: bool
) -> list[uuid.UUID]:
    """The heuristics to use: the given ones (each must belong to the task) or the task's (selected) heuristics."""
    query = select(InformationSource.id, InformationSource.is_selected).where(InformationSource.labeling_task_id == task_id)
    existing = {
        row.id: row.is_selected for row in session.execute(query.order_by(InformationSource.created_at, InformationSource.id))
    }
    if source_ids is None:
        return [sid for sid, selected in existing.items() if selected or not selected_only]
    unknown = [str(s) for s in source_ids if s not in existing]
    if unknown:
        raise BadRequest(f"heuristics {', '.join(unknown)} do not belong to labeling task {task_id}")
    return list(dict.fromkeys(source_ids))


def load_task(
    session: Session, task_id: uuid.UUID, source_ids: list[uuid.UUID] | None = None, *, selected_only: bool = True
) -> TaskData:
    """Read a task's labels, records, heuristic votes (only ``source_ids``) and valid manual labels."""
    task = session.get(LabelingTask, task_id)
    if task is None:
        raise NotFound(f"labeling task {task_id} does not exist")
    labels = session.execute(
        select(Label.id, Label.name).where(Label.labeling_task_id == task_id).order_by(Label.created_at, Label.name)
    ).all()
    label_ids = [label_id for label_id, _ in labels]
    sources = task_sources(session, task_id, source_ids, selected_only=selected_only)
    record_ids = np.asarray(
        session.scalars(text("SELECT id FROM record WHERE project_id = :p ORDER BY id"), {"p": task.project_id}).all(),
        dtype=np.int64,
    )
    label_index = {lid: i for i, lid in enumerate(label_ids)}
    source_index = {sid: i for i, sid in enumerate(sources)}
    conn = raw_connection()
    try:
        with conn.cursor() as cursor:
            cursor.execute(
                "SELECT record_id, source_id::text, label_id::text, COALESCE(confidence, 1.0), token_start, token_end "
                "FROM record_label_association WHERE labeling_task_id = %s AND source_type = %s AND source_id = ANY(%s::uuid[])",
                (str(task_id), SourceType.INFORMATION_SOURCE.value, [str(s) for s in sources]),
            )
            heuristic_rows = cursor.fetchall()
            cursor.execute(
                "SELECT record_id, label_id::text, token_start, token_end FROM record_label_association "
                "WHERE labeling_task_id = %s AND source_type = %s AND is_valid_manual_label",
                (str(task_id), SourceType.MANUAL.value),
            )
            manual_rows = cursor.fetchall()
    finally:
        conn.close()
    src_of = {str(k): v for k, v in source_index.items()}
    lab_of = {str(k): v for k, v in label_index.items()}
    heuristic_rows = [r for r in heuristic_rows if r[2] in lab_of]
    manual_rows = [r for r in manual_rows if r[1] in lab_of]

    def rows_of(ids: list[int]) -> NDArray[np.int64]:
        return np.searchsorted(record_ids, np.asarray(ids, dtype=np.int64)).astype(np.int64)

    h_rows = rows_of([r[0] for r in heuristic_rows])
    h_src = np.asarray([src_of[r[1]] for r in heuristic_rows], dtype=np.int64)
    h_lab = np.asarray([lab_of[r[2]] for r in heuristic_rows], dtype=np.int64)
    h_conf = np.asarray([float(r[3]) for r in heuristic_rows], dtype=np.float64)
    m_rows = rows_of([r[0] for r in manual_rows])
    m_lab = np.asarray([lab_of[r[1]] for r in manual_rows], dtype=np.int64)
    n = len(record_ids)
    data = TaskData(
        task.id,
        task.project_id,
        task.task_type,
        label_ids,
        sources,
        record_ids,
        Votes.from_arrays(n, len(sources), len(label_ids), h_rows, h_src, h_lab, h_conf),
        Manual(m_rows, m_lab),
        label_names=[name for _, name in labels],
    )
    if data.is_extraction:
        hs = [
            (r, s, lab, a, b, c)
            for r, s, lab, a, b, c in zip(
                h_rows, h_src, h_lab, [r[4] for r in heuristic_rows], [r[5] for r in heuristic_rows], h_conf, strict=True
            )
            if a is not None
        ]
        data.spans = Spans.from_lists(
            [x[0] for x in hs], [x[1] for x in hs], [x[2] for x in hs], [x[3] for x in hs], [x[4] for x in hs], [x[5] for x in hs]
        )
        ms = [(r, lab, x[2], x[3]) for r, lab, x in zip(m_rows, m_lab, manual_rows, strict=True) if x[2] is not None]
        data.manual_spans = Spans.from_lists(
            [x[0] for x in ms], [-1] * len(ms), [x[1] for x in ms], [x[2] for x in ms], [x[3] for x in ms]
        )
    return data


def replace_weak_labels(
    task: TaskData,
    rows: NDArray[np.int64],
    labels: NDArray[np.int64],
    confidence: NDArray[np.float64],
    starts: NDArray[np.int64] | None = None,
    ends: NDArray[np.int64] | None = None,
) -> int:
    """Delete the task's weak-supervision labels and COPY the new ones, in one transaction."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    project = str(task.project_id)
    task_id = str(task.task_id)
    label_ids = [str(x) for x in task.label_ids]
    for i in range(len(rows)):
        start = "" if starts is None else int(starts[i])
        end = "" if ends is None else int(ends[i])
        writer.writerow(
            [
                project,
                int(task.record_ids[rows[i]]),
                task_id,
                label_ids[labels[i]],
                SourceType.WEAK_SUPERVISION.value,
                "RETURN",
                repr(float(confidence[i])),
                "f",
                "f",
                start,
                end,
            ]
        )
    buffer.seek(0)
    conn = raw_connection()
    try:
        with conn.cursor() as cursor:
            cursor.execute(
                "DELETE FROM record_label_association WHERE labeling_task_id = %s AND source_type = %s",
                (task_id, SourceType.WEAK_SUPERVISION.value),
            )
            cursor.copy_expert(
                "COPY record_label_association (project_id, record_id, labeling_task_id, label_id, source_type, return_type, "
                "confidence, is_gold_star, is_valid_manual_label, token_start, token_end) FROM STDIN WITH (FORMAT csv)",
                buffer,
            )
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    finally:
        conn.close()
    return len(rows)


def token_counts(session: Session, task: TaskData, rows: NDArray[np.int64]) -> tuple[NDArray[np.int64], int]:
    """Tokens of the task's attribute per record row (``rows``), read from the stored DocBins' ``lengths`` without
    spaCy; a record not tokenized yet counts up to its last span's end. Returns the counts and how many fell back."""
    attribute = session.scalar(
        text("SELECT a.name FROM labeling_task t JOIN attribute a ON a.id = t.attribute_id WHERE t.id = :t"), {"t": task.task_id}
    )
    ends = np.zeros(task.votes.n_records, dtype=np.int64)
    if task.spans is not None and len(task.spans):
        np.maximum.at(ends, task.spans.rows, task.spans.ends)
    counts = ends[rows].copy()
    found = np.zeros(len(rows), dtype=bool)
    position = {int(record): i for i, record in enumerate(task.record_ids[rows])}
    if attribute is not None and len(rows):
        conn = raw_connection()
        try:
            with conn.cursor() as cursor:
                cursor.execute(
                    "SELECT record_id, columns, bytes FROM record_tokenized WHERE project_id = %s AND record_id = ANY(%s)",
                    (str(task.project_id), [int(r) for r in task.record_ids[rows]]),
                )
                for record_id, columns, blob in cursor:
                    if attribute not in columns:
                        continue
                    lengths = np.frombuffer(srsly.msgpack_loads(zlib.decompress(bytes(blob)))["lengths"], dtype="<i4")
                    i = position[int(record_id)]
                    counts[i] = max(int(lengths[columns.index(attribute)]), int(counts[i]))
                    found[i] = True
        finally:
            conn.close()
    return counts, int((~found).sum())


def training_record_ids(session: Session, source_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[int]]:
    """Per heuristic, the records its last finished run trained on (active learners store them in the run's details)."""
    if not source_ids:
        return {}
    rows = session.execute(
        select(HeuristicRun.source_id, HeuristicRun.details)
        .where(HeuristicRun.source_id.in_(source_ids), HeuristicRun.state == RunState.FINISHED)
        .distinct(HeuristicRun.source_id)
        .order_by(HeuristicRun.source_id, HeuristicRun.finished_at.desc())
    ).all()
    out: dict[uuid.UUID, list[int]] = {}
    for source_id, details in rows:
        ids = details.get("training_record_ids") if isinstance(details, dict) else None
        if isinstance(ids, list) and ids:
            out[source_id] = [int(i) for i in ids]
    return out
