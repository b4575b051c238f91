"""Postgres access: heuristic votes and manual labels read as arrays (plain SQL), results written with COPY."""

from __future__ import annotations

import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import srsly
from numpy.typing import NDArray
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from shared_model import weak_supervision_results as weak_results
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


def _one_line(error: str | None) -> str:
    lines = [line.strip() for line in (error or "").splitlines() if line.strip()]
    if not lines:
        return ""
    return lines[0] if len(lines) == 1 else f"{lines[0].rstrip(':')}: {lines[-1]}"


def choose_sources(
    session: Session, source_ids: list[uuid.UUID], *, use_older_results: bool = False
) -> tuple[list[uuid.UUID], list[dict[str, Any]]]:
    """Which of ``source_ids`` a weak-supervision run uses, and for each one considered why (or why not).

    A heuristic with runs is used only when its latest run finished: the results of a heuristic whose latest run
    failed, was cancelled or has not finished are those of an older run (or an older version of its code), so it is
    skipped unless ``use_older_results`` (then its last finished run's results are used, and said so). A heuristic
    without runs (results imported or posted as pre-computed) is used as it is. Each entry names the heuristic, whether
    it is used, the reason, and the run whose results were used with its finish time (``results_from``).
    """
    if not source_ids:
        return [], []
    names: dict[uuid.UUID, str] = dict(
        session.execute(select(InformationSource.id, InformationSource.name).where(InformationSource.id.in_(source_ids)))
        .tuples()
        .all()
    )
    runs = session.scalars(
        select(HeuristicRun)
        .where(HeuristicRun.source_id.in_(source_ids))
        .order_by(HeuristicRun.created_at.desc(), HeuristicRun.id)
    ).all()
    latest: dict[uuid.UUID, HeuristicRun] = {}
    finished: dict[uuid.UUID, HeuristicRun] = {}
    for run in runs:
        latest.setdefault(run.source_id, run)
        if run.state == RunState.FINISHED:
            finished.setdefault(run.source_id, run)
    used: list[uuid.UUID] = []
    report: list[dict[str, Any]] = []
    for source_id in source_ids:
        last, done = latest.get(source_id), finished.get(source_id)
        entry: dict[str, Any] = {"heuristic_id": str(source_id), "name": names.get(source_id), "used": True}
        if last is None:
            entry["reason"] = "no runs: its results were imported or posted"
        elif last.state == RunState.FINISHED:
            entry["reason"] = "its latest run finished"
        else:
            what = f"its latest run ({last.created_at:%Y-%m-%d %H:%M:%S} UTC) is {last.state}"
            if last.error:
                what += f": {_one_line(last.error)[:300]}"
            if done is None:
                entry.update(used=False, reason=f"{what}; no run of it ever finished")
            elif use_older_results:
                entry["reason"] = f"{what}; used the results of its last finished run (use_older_results)"
            else:
                entry.update(used=False, reason=f"{what}; its stored results are from an older run")
        if done is not None:  # the run whose results are stored (used, or not)
            prefix = "" if entry["used"] else "stored_"
            entry[f"{prefix}run_id"] = str(done.id)
            entry[f"{prefix}results_from"] = done.finished_at.isoformat() if done.finished_at else None
        if entry["used"]:
            used.append(source_id)
        report.append(entry)
    return used, report


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
    conn = raw_connection()
    try:
        with conn.cursor() as cursor:
            cursor.execute(  # one text parsed by numpy: no Python int per record
                "SELECT array_to_string(array_agg(id ORDER BY id), ',') FROM record WHERE project_id = %s",
                (str(task.project_id),),
            )
            ids_text = cursor.fetchone()[0]
            record_ids = np.fromstring(ids_text or "", dtype=np.int64, sep=",")
            heuristic = _heuristic_votes(cursor, task_id, sources, label_ids, record_ids)
            cursor.execute(
                "SELECT record_id, label_id::text, token_start, token_end FROM record_label_association "
                "WHERE labeling_task_id = %s AND source_type = %s AND is_valid_manual_label",
                (str(task_id), SourceType.MANUAL.value),
            )
            manual_rows = cursor.fetchall()
    finally:
        conn.close()
    lab_of = {str(k): i for i, k in enumerate(label_ids)}
    manual_rows = [r for r in manual_rows if r[1] in lab_of]
    m_found, m_rows = record_rows(record_ids, np.asarray([r[0] for r in manual_rows], dtype=np.int64))
    manual_rows = [r for r, found in zip(manual_rows, m_found, strict=True) if found]
    m_lab = np.asarray([lab_of[r[1]] for r in manual_rows], dtype=np.int64)
    n = len(record_ids)
    data = TaskData(
        task.id,
        task.project_id,
        task.task_type,
        label_ids,
        sources,
        record_ids,
        Votes.from_arrays(
            n, len(sources), len(label_ids), heuristic.rows, heuristic.sources, heuristic.labels, heuristic.confidence
        ),
        Manual(m_rows, m_lab),
        label_names=[name for _, name in labels],
    )
    if data.is_extraction:
        spans = heuristic.starts >= 0  # votes of chunks stored without spans take no part in span aggregation
        data.spans = Spans(
            heuristic.rows[spans],
            heuristic.sources[spans],
            heuristic.labels[spans],
            heuristic.starts[spans],
            heuristic.ends[spans],
            heuristic.confidence[spans],
        )
        ms = [(r, lab, x[2], x[3]) for r, lab, x in zip(m_rows, m_lab, manual_rows, strict=True) if x[2] is not None]
        data.manual_spans = Spans.from_lists(
            [x[0] for x in ms], [-1] * len(ms), [x[1] for x in ms], [x[2] for x in ms], [x[3] for x in ms]
        )
    return data


def record_rows(record_ids: NDArray[np.int64], ids: NDArray[np.int64]) -> tuple[NDArray[np.bool_], NDArray[np.int64]]:
    """Which of ``ids`` are among the sorted ``record_ids``, and the rows of those that are (records deleted or
    added since ``record_ids`` was read are left out)."""
    if not len(record_ids) or not len(ids):
        return np.zeros(len(ids), dtype=bool), np.zeros(0, dtype=np.int64)
    rows = np.minimum(np.searchsorted(record_ids, ids), len(record_ids) - 1)
    found = record_ids[rows] == ids
    return found, rows[found].astype(np.int64)


@dataclass
class _HeuristicVotes:
    """A task's heuristic votes as parallel arrays (``starts``/``ends`` -1 for votes without a span)."""

    rows: NDArray[np.int64]
    sources: NDArray[np.int64]
    labels: NDArray[np.int64]
    confidence: NDArray[np.float64]
    starts: NDArray[np.int64]
    ends: NDArray[np.int64]


def _heuristic_votes(
    cursor: Any,
    task_id: uuid.UUID,
    sources: list[uuid.UUID],
    label_ids: list[uuid.UUID],
    record_ids: NDArray[np.int64],
) -> _HeuristicVotes:
    """The votes of ``sources`` for the task's labels, read chunk by chunk from ``heuristic_result``: each chunk's
    arrays come as one text each and are parsed by numpy (no Python object per vote)."""
    cursor.execute(
        "SELECT source_id::text, label_id::text, cardinality(record_ids), array_to_string(record_ids, ','), "
        "array_to_string(token_starts, ','), array_to_string(token_ends, ','), array_to_string(confidences, ',', '1') "
        "FROM heuristic_result WHERE labeling_task_id = %s AND source_id = ANY(%s::uuid[]) AND label_id = ANY(%s::uuid[]) "
        "ORDER BY created_at, id",
        (str(task_id), [str(s) for s in sources], [str(lab) for lab in label_ids]),
    )
    src_of = {str(k): i for i, k in enumerate(sources)}
    lab_of = {str(k): i for i, k in enumerate(label_ids)}
    counts: list[int] = []
    chunk_sources: list[int] = []
    chunk_labels: list[int] = []
    ids: list[NDArray[np.int64]] = []
    starts: list[NDArray[np.int64]] = []
    ends: list[NDArray[np.int64]] = []
    confidence: list[NDArray[np.float64]] = []
    for source_id, label_id, count, id_text, start_text, end_text, conf_text in cursor:
        count = int(count)
        counts.append(count)
        chunk_sources.append(src_of[source_id])
        chunk_labels.append(lab_of[label_id])
        ids.append(np.fromstring(id_text, dtype=np.int64, sep=","))
        if start_text is None or end_text is None:
            starts.append(np.full(count, -1, dtype=np.int64))
            ends.append(np.full(count, -1, dtype=np.int64))
        else:
            starts.append(np.fromstring(start_text, dtype=np.int64, sep=","))
            ends.append(np.fromstring(end_text, dtype=np.int64, sep=","))
        confidence.append(np.ones(count) if conf_text is None else np.fromstring(conf_text, dtype=np.float64, sep=","))
    for name, parts in (("record_ids", ids), ("token_starts", starts), ("token_ends", ends), ("confidences", confidence)):
        if [len(part) for part in parts] != counts:
            raise ValueError(f"heuristic_result of task {task_id}: {name} could not be read as {len(counts)} arrays")

    def joined(parts: list[Any], dtype: Any) -> Any:
        return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)

    all_ids = joined(ids, np.int64)
    found, rows = record_rows(record_ids, all_ids)
    return _HeuristicVotes(
        rows,
        np.repeat(np.asarray(chunk_sources, dtype=np.int64), counts)[found],
        np.repeat(np.asarray(chunk_labels, dtype=np.int64), counts)[found],
        joined(confidence, np.float64)[found],
        joined(starts, np.int64)[found],
        joined(ends, np.int64)[found],
    )


def write_weak_labels(
    task: TaskData,
    version_id: uuid.UUID,
    rows: NDArray[np.int64],
    labels: NDArray[np.int64],
    confidence: NDArray[np.float64],
    starts: NDArray[np.int64] | None = None,
    ends: NDArray[np.int64] | None = None,
    *,
    chunk_rows: int = weak_results.CHUNK_ROWS,
    after_chunk: Callable[[int], None] | None = None,
) -> int:
    """Store the labels under the version ``version_id`` (registered with ``begin_version``), one record's labels a
    row, :data:`weak_results.CHUNK_ROWS` records per transaction: readers do not see them until the version is
    switched current. Returns the labels written (those of records deleted meanwhile are left out).
    ``after_chunk`` is called with the records written so far after each chunk commits."""
    spans = starts is not None and ends is not None
    order = np.lexsort((starts, rows)) if starts is not None and ends is not None else np.argsort(rows, kind="stable")
    rows, labels, confidence = rows[order], labels[order], confidence[order]
    if spans:
        assert starts is not None and ends is not None
        starts, ends = starts[order], ends[order]
    bounds = np.flatnonzero(np.diff(rows)) + 1
    firsts = np.concatenate([[0], bounds]) if len(rows) else np.zeros(0, dtype=np.int64)
    lasts = np.concatenate([bounds, [len(rows)]]) if len(rows) else np.zeros(0, dtype=np.int64)
    version, task_id, project = str(version_id), str(task.task_id), str(task.project_id)
    label_ids = [str(x) for x in task.label_ids]
    record_ids = task.record_ids[rows].tolist()
    label_list, confidence_list = labels.tolist(), confidence.tolist()
    start_list = starts.tolist() if spans and starts is not None else None
    end_list = ends.tolist() if spans and ends is not None else None
    written = 0
    for at in range(0, len(firsts), chunk_rows):
        lines: list[str] = []
        counts: dict[int, int] = {}
        for first, last in zip(firsts[at : at + chunk_rows].tolist(), lasts[at : at + chunk_rows].tolist(), strict=True):
            record = record_ids[first]
            counts[record] = last - first
            lines.append(
                weak_results.row_line(
                    version,
                    record,
                    task_id,
                    project,
                    [label_ids[i] for i in label_list[first:last]],
                    confidence_list[first:last],
                    None if start_list is None else start_list[first:last],
                    None if end_list is None else end_list[first:last],
                )
            )
        conn = raw_connection()
        try:
            with conn.cursor() as cursor:
                stored = weak_results.write_rows(cursor, task.project_id, version_id, lines, list(counts))
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
        finally:
            conn.close()
        written += sum(counts.values()) if stored == len(lines) else _labels_kept(task, version_id, counts)
        if after_chunk is not None:
            after_chunk(at + len(lines))
    return written


def _labels_kept(task: TaskData, version_id: uuid.UUID, counts: dict[int, int]) -> int:
    """How many of the chunk's labels were stored (some records were deleted while the run worked)."""
    conn = raw_connection()
    try:
        with conn.cursor() as cursor:
            cursor.execute(
                "SELECT record_id FROM weak_supervision_result WHERE version_id = %s AND record_id = ANY(%s)",
                (str(version_id), list(counts)),
            )
            return sum(counts[int(r[0])] for r in cursor.fetchall())
    finally:
        conn.close()


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
