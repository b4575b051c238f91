"""Export a project's records, streamed, in the original's format (JSON array), JSONL or CSV.

One object per record: the attribute values in column order, then per labeling task the columns its
:data:`COLUMN_BUILDERS` entry makes — for classification ``{attr}__{task}__MANUAL``, ``…__WEAK_SUPERVISION`` and
``…__WEAK_SUPERVISION__confidence`` (an empty attribute part for whole-record tasks); multi-label tasks give lists of
labels (and confidences); extraction tasks give per-token ``B-label`` / ``I-label`` / ``OUTSIDE`` arrays over the
attribute's stored tokens (null while a record is not tokenized) with a per-token confidence array (0.0 outside); the
weak-supervision columns of an extraction task without any weak-supervision label are null.
Chosen heuristics' votes (a partial export's ``heuristic_ids``) add a column each, ``{attr}__{task}__HEURISTIC__{name}``:
the voted label (a list for multi-label tasks, a ``B-``/``I-``/``OUTSIDE`` array for extraction; null: no vote).
Only valid (decided) manual labels are exported; ``…__MANUAL__decided_by`` says which rule decided them
(:func:`decided_by_column`). Records are read through a server-side cursor, a few thousand at a time.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import tempfile
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import srsly.msgpack

from shared_model.db import raw_connection
from shared_model.models import AttributeState, DataType, SourceType, TaskType

from . import valid_labels
from .spreadsheet import csv_cell, xlsx_cell

FETCH_ROWS = 2000
FLUSH_BYTES = 1 << 16
MEDIA_TYPES = {
    "json": "application/json",
    "jsonl": "application/x-ndjson",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
XLSX_MAX_ROWS = 1_048_576  # a worksheet's rows, the header included


@dataclass(frozen=True)
class TaskInfo:
    """A labeling task as the export sees it."""

    id: str
    name: str
    attribute: str | None
    task_type: str
    weakly_supervised: bool = True  # False: no weak-supervision label exists in the task (its columns are null)

    @property
    def prefix(self) -> str:
        return f"{self.attribute or ''}__{self.name}"


@dataclass(frozen=True)
class LabelRow:
    """One exported record-label association (valid manual or weak supervision)."""

    source_type: str
    label: str
    confidence: float | None
    token_start: int | None
    token_end: int | None


UNFINISHED_STATES = (AttributeState.INITIAL.value, AttributeState.RUNNING.value, AttributeState.FAILED.value)


class RecordTokens:
    """Token counts per text attribute of one record, read from its stored DocBin only when asked."""

    def __init__(self, columns: list[str] | None, docbin: bytes | None, unpacker: Any) -> None:
        self.columns = columns or []
        self.docbin = docbin
        self.unpacker = unpacker
        self._lengths: list[int] | None = None

    def count(self, attribute: str | None) -> int | None:
        """How many tokens the attribute has (None when the record is not tokenized yet)."""
        if self.docbin is None or attribute not in self.columns:
            return None
        if self._lengths is None:
            self.unpacker.feed(zlib.decompress(self.docbin))
            message = next(self.unpacker)
            self._lengths = [
                int.from_bytes(message["lengths"][i : i + 4], "little", signed=True) for i in range(0, len(message["lengths"]), 4)
            ]
        return self._lengths[self.columns.index(attribute)]


class ColumnBuilder(Protocol):
    """Makes a task type's export columns: their names, and their values for one record."""

    def names(self, task: TaskInfo) -> list[str]: ...

    def values(self, task: TaskInfo, labels: list[LabelRow], data: dict[str, Any], tokens: RecordTokens) -> list[Any]: ...


class ClassificationColumns:
    """``__MANUAL`` (the valid manual label), ``__WEAK_SUPERVISION`` and its ``__confidence``."""

    def names(self, task: TaskInfo) -> list[str]:
        return [f"{task.prefix}__MANUAL", f"{task.prefix}__WEAK_SUPERVISION", f"{task.prefix}__WEAK_SUPERVISION__confidence"]

    def values(self, task: TaskInfo, labels: list[LabelRow], data: dict[str, Any], tokens: RecordTokens) -> list[Any]:
        manual = next((row.label for row in labels if row.source_type == SourceType.MANUAL.value), None)
        weak = next((row for row in labels if row.source_type == SourceType.WEAK_SUPERVISION.value), None)
        return [manual, weak.label if weak else None, weak.confidence if weak else None]


class MultiLabelColumns(ClassificationColumns):
    """As classification, but ``__MANUAL`` and ``__WEAK_SUPERVISION`` are lists of labels, the confidence a list too."""

    def values(self, task: TaskInfo, labels: list[LabelRow], data: dict[str, Any], tokens: RecordTokens) -> list[Any]:
        manual = sorted(row.label for row in labels if row.source_type == SourceType.MANUAL.value)
        weak = sorted((row for row in labels if row.source_type == SourceType.WEAK_SUPERVISION.value), key=lambda r: r.label)
        return [manual or None, [r.label for r in weak] or None, [r.confidence for r in weak] or None]


class ExtractionColumns(ClassificationColumns):
    """Per-token ``B-label`` / ``I-label`` / ``OUTSIDE`` arrays (manual and weak supervision) and weak confidences."""

    def values(self, task: TaskInfo, labels: list[LabelRow], data: dict[str, Any], tokens: RecordTokens) -> list[Any]:
        count = tokens.count(task.attribute)
        if count is None:
            return [None, None, None]
        manual, _ = _bio(count, [r for r in labels if r.source_type == SourceType.MANUAL.value])
        if not task.weakly_supervised:  # no run wrote labels: null, not a claim that every token is OUTSIDE
            return [manual, None, None]
        weak, confidence = _bio(count, [r for r in labels if r.source_type == SourceType.WEAK_SUPERVISION.value])
        return [manual, weak, confidence]


def _bio(count: int, spans: list[LabelRow]) -> tuple[list[str], list[float]]:
    tags = ["OUTSIDE"] * count
    confidence = [0.0] * count
    for span in sorted(spans, key=lambda r: (r.token_start or 0, r.token_end or 0)):
        start, end = span.token_start, min(span.token_end or 0, count)
        if start is None or start >= end or any(tag != "OUTSIDE" for tag in tags[start:end]):
            continue  # an overlapping span: the earlier one is kept
        for i in range(start, end):
            tags[i] = ("B-" if i == start else "I-") + span.label
            confidence[i] = span.confidence if span.confidence is not None else 1.0
    return tags, confidence


# Per task type, how its columns are made.
COLUMN_BUILDERS: dict[str, ColumnBuilder] = {
    TaskType.MULTICLASS_CLASSIFICATION.value: ClassificationColumns(),
    TaskType.MULTILABEL_CLASSIFICATION.value: MultiLabelColumns(),
    TaskType.INFORMATION_EXTRACTION.value: ExtractionColumns(),
}


def decided_by_column(task: TaskInfo) -> str:
    """``…__MANUAL__decided_by``: GOLD_STAR, SINGLE_ANNOTATOR, UNANIMOUS, MAJORITY or EXPERT (the rule that decided the
    ``__MANUAL`` value), UNDECIDED (annotators disagree and the rule decides nothing) or null (no manual label)."""
    return f"{task.prefix}__MANUAL__decided_by"


_RECORDS_SQL = """
SELECT r.id, r.data, coalesce((
    SELECT jsonb_agg(jsonb_build_array(a.labeling_task_id, a.source_type, l.name, a.confidence, a.token_start, a.token_end,
                                       a.is_valid_manual_label, a.id, a.created_by, a.label_id, a.is_gold_star, a.created_at)
                     ORDER BY a.source_type, a.token_start, a.created_at)
    FROM (
        SELECT labeling_task_id, source_type::text AS source_type, confidence, token_start, token_end,
               is_valid_manual_label, id, created_by, label_id, is_gold_star, created_at
        FROM record_label_association WHERE record_id = r.id AND source_type = 'MANUAL'
        UNION ALL  -- the current weak-supervision version's labels (migration 0023)
        SELECT w.labeling_task_id, 'WEAK_SUPERVISION', w.confidence, w.token_start, w.token_end, false, NULL::uuid,
               NULL::uuid, w.label_id, false, NULL::timestamptz
        FROM weak_supervision_association w WHERE w.record_id = r.id
    ) a JOIN label l ON l.id = a.label_id
), '[]'::jsonb), {tokens}
FROM record r {join} WHERE r.project_id = %s {only} ORDER BY r.id
"""
_TOKENS_SQL = {"tokens": "t.columns, t.bytes", "join": "LEFT JOIN record_tokenized t ON t.record_id = r.id"}
_NO_TOKENS_SQL = {"tokens": "NULL, NULL", "join": ""}
LABEL_SOURCES = (SourceType.MANUAL.value, SourceType.WEAK_SUPERVISION.value)


@dataclass(frozen=True)
class ExportSelection:
    """What a partial export holds (the data browser's export dialog): some records, attributes, tasks, label sources.

    ``None`` keeps everything of that kind. Records are given by id (a filter's or a slice's result)."""

    record_ids: list[int] | None = None
    attributes: list[str] | None = None
    task_ids: list[str] | None = None
    sources: list[str] | None = None
    heuristic_ids: list[str] | None = None  # heuristics whose votes become columns (None: none)

    def keeps_column(self, task: TaskInfo, column: str) -> bool:
        """Whether a task's column stays: its label source (the part after the task's prefix) was asked for."""
        if self.sources is None:
            return True
        source = column[len(task.prefix) + 2 :].split("__", 1)[0]
        return source not in LABEL_SOURCES or source in self.sources


@dataclass(frozen=True)
class HeuristicInfo:
    """A heuristic whose votes are an export column."""

    id: str
    name: str
    task: TaskInfo

    @property
    def column(self) -> str:
        return f"{self.task.prefix}__HEURISTIC__{self.name}"

    def value(self, votes: list[tuple[str, int | None, int | None]], tokens: RecordTokens) -> Any:
        """The column's value for one record's votes (label, token start, token end)."""
        kind = self.task.task_type
        if kind == TaskType.INFORMATION_EXTRACTION.value:
            count = tokens.count(self.task.attribute)
            if count is None:
                return None
            tags, _ = _bio(count, [LabelRow("HEURISTIC", label, None, start, end) for label, start, end in votes])
            return tags
        if kind == TaskType.MULTILABEL_CLASSIFICATION.value:
            return sorted({label for label, _, _ in votes}) or None
        return votes[0][0] if votes else None


_VOTES_SQL = """
SELECT u.record_id, l.name, u.token_start, u.token_end
FROM heuristic_result h
CROSS JOIN LATERAL unnest(h.record_ids, h.token_starts, h.token_ends) AS u(record_id, token_start, token_end)
JOIN label l ON l.id = h.label_id
WHERE h.source_id = %s ORDER BY u.record_id, u.token_start, l.name
"""


class _VoteStream:
    """One heuristic's votes in record order (a server-side cursor), consumed alongside the records' cursor."""

    def __init__(self, conn: Any, heuristic_id: str) -> None:
        cursor = conn.cursor(name=f"export_votes_{uuid.uuid4().hex}")
        cursor.itersize = FETCH_ROWS * 4
        cursor.execute(_VOTES_SQL, (heuristic_id,))
        self.rows: Iterator[tuple[int, str, int | None, int | None]] = iter(cursor)
        self.pending = next(self.rows, None)

    def take(self, record_id: int) -> list[tuple[str, int | None, int | None]]:
        """The votes on ``record_id`` (votes on records before it, not exported, are skipped)."""
        while self.pending is not None and self.pending[0] < record_id:
            self.pending = next(self.rows, None)
        out = []
        while self.pending is not None and self.pending[0] == record_id:
            out.append((self.pending[1], self.pending[2], self.pending[3]))
            self.pending = next(self.rows, None)
        return out


class Exporter:
    """The columns of a project's export and its records as ordered dicts."""

    def __init__(self, project_id: uuid.UUID, selection: ExportSelection | None = None) -> None:
        self.project_id = project_id
        self.selection = selection or ExportSelection()
        conn = raw_connection()
        try:
            cursor = conn.cursor()
            cursor.execute("SELECT settings FROM project WHERE id = %s", (project_id,))
            found = cursor.fetchone()
            settings = found[0] if found else {}
            cursor.execute(  # a calculated attribute that has not run successfully has no values to export
                "SELECT name FROM attribute WHERE project_id = %s AND data_type <> %s AND state NOT IN (%s, %s, %s)"
                " ORDER BY relative_position",
                (project_id, DataType.EMBEDDING_LIST.value, *UNFINISHED_STATES),
            )
            self.attributes = [row[0] for row in cursor.fetchall()]
            cursor.execute(
                "SELECT t.id::text, t.name, a.name, t.task_type FROM labeling_task t"
                " LEFT JOIN attribute a ON a.id = t.attribute_id WHERE t.project_id = %s ORDER BY t.created_at, t.name",
                (project_id,),
            )
            self.tasks = [TaskInfo(*row) for row in cursor.fetchall() if row[3] in COLUMN_BUILDERS]
            self.heuristics: list[HeuristicInfo] = []
            self.unknown_heuristics: list[str] = []
            if self.selection.heuristic_ids:
                cursor.execute(
                    "SELECT s.id::text, s.name, s.labeling_task_id::text FROM information_source s"
                    " WHERE s.project_id = %s AND s.id::text = ANY(%s) ORDER BY s.created_at, s.name",
                    (project_id, list(self.selection.heuristic_ids)),
                )
                by_id = {task.id: task for task in self.tasks}
                self.heuristics = [HeuristicInfo(h, name, by_id[t]) for h, name, t in cursor.fetchall() if t in by_id]
                found = {h.id for h in self.heuristics}
                self.unknown_heuristics = [h for h in self.selection.heuristic_ids if h not in found]
            for index, task in enumerate(self.tasks):
                if task.task_type == TaskType.INFORMATION_EXTRACTION.value:
                    cursor.execute(
                        "SELECT EXISTS (SELECT 1 FROM weak_supervision_label WHERE labeling_task_id = %s)",
                        (task.id,),
                    )
                    self.tasks[index] = dataclasses.replace(task, weakly_supervised=bool(cursor.fetchone()[0]))
        finally:
            conn.rollback()
            conn.close()
        chosen = self.selection
        if chosen.attributes is not None:
            self.attributes = [name for name in self.attributes if name in chosen.attributes]
        if chosen.task_ids is not None:
            self.tasks = [task for task in self.tasks if task.id in chosen.task_ids]
            left_out = [h for h in self.heuristics if h.task.id not in chosen.task_ids]
            self.unknown_heuristics.extend(h.id for h in left_out)
            self.heuristics = [h for h in self.heuristics if h not in left_out]
        self.columns = list(self.attributes)
        for task in self.tasks:
            self.columns.extend(name for name in COLUMN_BUILDERS[task.task_type].names(task) if chosen.keeps_column(task, name))
            if chosen.keeps_column(task, decided_by_column(task)):
                self.columns.append(decided_by_column(task))
        self.columns.extend(heuristic.column for heuristic in self.heuristics)
        self.resolution = valid_labels.Resolution.from_settings(settings)

    def _decided_by(self, rows: list[valid_labels.ManualRow] | None, decided: bool) -> str | None:
        """Why the record's decided manual label is what it is (null: no manual label; UNDECIDED: none is valid)."""
        if not rows:
            return None
        if not decided:
            return valid_labels.DecidedBy.UNDECIDED.value
        return str(valid_labels.decide(rows, self.resolution)[1])

    def records(self) -> Iterator[dict[str, Any]]:
        """Every record in id order (a server-side cursor; never all rows in memory)."""
        conn = raw_connection()
        try:
            cursor = conn.cursor(name=f"export_{uuid.uuid4().hex}")
            cursor.itersize = FETCH_ROWS
            extraction = TaskType.INFORMATION_EXTRACTION.value
            needs_tokens = any(task.task_type == extraction for task in [*self.tasks, *(h.task for h in self.heuristics)])
            votes = [(heuristic, _VoteStream(conn, heuristic.id)) for heuristic in self.heuristics]
            only = self.selection.record_ids
            parts = _TOKENS_SQL if needs_tokens else _NO_TOKENS_SQL
            sql = _RECORDS_SQL.format(**parts, only="" if only is None else "AND r.id = ANY(%s)")
            cursor.execute(sql, (self.project_id,) if only is None else (self.project_id, only))
            unpacker = srsly.msgpack.Unpacker(raw=False)  # one per export: creating one costs ~1 ms
            for record_id, data, label_rows, token_columns, docbin in cursor:
                tokens = RecordTokens(token_columns, bytes(docbin) if docbin is not None else None, unpacker)
                by_task: dict[str, list[LabelRow]] = {}
                manual: dict[str, list[valid_labels.ManualRow]] = {}
                decided: set[str] = set()  # tasks with a valid manual label on the record
                for task_id, source_type, label, confidence, start, end, valid, *row in label_rows:
                    if source_type == SourceType.MANUAL.value:
                        manual.setdefault(task_id, []).append(valid_labels.ManualRow.from_json(record_id, start, end, row))
                        if not valid:
                            continue
                        decided.add(task_id)
                    by_task.setdefault(task_id, []).append(LabelRow(source_type, label, confidence, start, end))
                out = {name: data.get(name) for name in self.attributes}
                for task in self.tasks:
                    builder = COLUMN_BUILDERS[task.task_type]
                    labels = by_task.get(task.id, [])
                    out.update(
                        (name, value)
                        for name, value in zip(builder.names(task), builder.values(task, labels, data, tokens), strict=True)
                        if self.selection.keeps_column(task, name)
                    )
                    if self.selection.keeps_column(task, decided_by_column(task)):
                        out[decided_by_column(task)] = self._decided_by(manual.get(task.id), task.id in decided)
                for heuristic, stream in votes:
                    out[heuristic.column] = heuristic.value(stream.take(record_id), tokens)
                yield out
            cursor.close()
        finally:
            conn.rollback()
            conn.close()

    def stream(self, fmt: str, raw: bool = False) -> Iterator[bytes]:
        """The export as bytes in ``fmt`` (json, jsonl, csv or xlsx), in pieces of about 64 KiB; spreadsheet cells are
        escaped against formula injection unless ``raw`` (:mod:`.spreadsheet`)."""
        if fmt == "xlsx":
            yield from self._xlsx(raw)
            return
        pieces = {"json": self._json, "jsonl": self._jsonl, "csv": lambda: self._csv(raw)}[fmt]()
        buffer: list[str] = []
        size = 0
        for piece in pieces:
            buffer.append(piece)
            size += len(piece)
            if size >= FLUSH_BYTES:
                yield "".join(buffer).encode("utf-8")
                buffer, size = [], 0
        if buffer:
            yield "".join(buffer).encode("utf-8")

    def _json(self) -> Iterator[str]:
        yield "["
        separator = "\n"
        for record in self.records():
            yield separator + json.dumps(record, ensure_ascii=False)
            separator = ",\n"
        yield "\n]\n"

    def _jsonl(self) -> Iterator[str]:
        for record in self.records():
            yield json.dumps(record, ensure_ascii=False) + "\n"

    def _csv(self, raw: bool) -> Iterator[str]:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180; with "\n" a cell holding "\r" went unquoted
        writer.writerow([csv_cell(name, raw) for name in self.columns])
        for record in self.records():
            writer.writerow([csv_cell(value, raw) for value in record.values()])
            if out.tell() >= FLUSH_BYTES:
                yield out.getvalue()
                out.seek(0)
                out.truncate()
        yield out.getvalue()

    def _xlsx(self, raw: bool) -> Iterator[bytes]:
        """One worksheet ``records``: written to a temporary file (openpyxl's write-only mode), then streamed."""
        from openpyxl import Workbook
        from openpyxl.cell import WriteOnlyCell

        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet("records")

        def row(values: Iterator[Any]) -> list[Any]:
            cells = []
            for value in values:
                cell = WriteOnlyCell(sheet, value=xlsx_cell(value, raw))
                if isinstance(cell.value, str):
                    cell.data_type = "s"  # text stays text: never a formula, even raw
                cells.append(cell)
            return cells

        sheet.append(row(iter(self.columns)))
        for record in self.records():
            sheet.append(row(iter(record.values())))
        with tempfile.TemporaryFile() as handle:
            workbook.save(handle)
            handle.seek(0)
            while chunk := handle.read(FLUSH_BYTES):
                yield chunk

    def record_count(self) -> int:
        if self.selection.record_ids is not None:
            return len(self.selection.record_ids)
        conn = raw_connection()
        try:
            cursor = conn.cursor()
            cursor.execute("SELECT count(*) FROM record WHERE project_id = %s", (self.project_id,))
            return int(cursor.fetchone()[0])
        finally:
            conn.rollback()
            conn.close()
