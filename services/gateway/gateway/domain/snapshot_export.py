"""Export of a project as a snapshot in the original refinery's "project export" format (a zip holding one JSON file).

The counterpart of :mod:`.snapshot`: what that importer reads is filled from our data, with the same field names and
value shapes, so that an export imports again (here, as a new project) with its attributes, records, labeling tasks
and labels (colours, hotkeys), lookup lists and terms, heuristics (code, type; a zero-shot heuristic's configuration as
a JSON object in ``source_code``), manual labels (spans as token rows), heuristics' votes with their confidences,
and each task's current weak-supervision labels (``WEAK_SUPERVISION`` associations with their confidences, spans as
token rows, ``weak_supervision_id`` naming the version; the version itself as a FINISHED entry of
``weak_supervision_task_data``, as the original lists its runs).

Left empty (the keys are present as ``[]``, as the importer skips them anyway): embeddings and their tensors (large;
recomputed from the model name), heuristic run history and statistics (recomputed by the next run), token statistics
(recomputed by tokenization), superseded weak-supervision runs and comments (they name users of this
installation). Model-callback labels are left out too. Data slices are written with this installation's filter
in ``filter_raw`` and the static and outlier slices' records (the importer maps the ids).

Memory: records, labels and votes are read with server-side cursors in one REPEATABLE READ, read-only transaction (a
consistent snapshot) and written straight into the zip's compressed JSON member, a few thousand rows at a time; a
record's JSON is passed through as PostgreSQL renders it, never parsed.
"""

from __future__ import annotations

import json
import re
import uuid
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from shared_model.db import raw_connection
from shared_model.models import HeuristicType, TaskType

ROWS_PER_FETCH = 2000
CHUNKS_PER_FETCH = 2  # a heuristic_result chunk holds up to 100k votes
FLUSH_BYTES = 1 << 20
EMPTY_KEYS = (
    "embeddings_data",
    "embedding_tensors_data",
    "information_source_payloads_data",
    "information_source_statistics_data",
    "record_attribute_token_statistics_data",
    "comments",
)


def _id(value: Any) -> str:
    """An id as the original writes it: ``"None"`` for none."""
    return "None" if value is None else str(value)


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def file_name(project_name: str) -> str:
    """The download's file name: the project's name made file-safe (ASCII letters, digits, ``.``, ``-``, ``_``)."""
    safe = re.sub(r"[^\w.-]+", "_", project_name, flags=re.ASCII).strip("._") or "project"
    return f"{safe[:150]}.zip"


@dataclass
class ExportSummary:
    """What went into a snapshot."""

    records: int = 0
    manual_labels: int = 0
    heuristic_labels: int = 0
    weak_supervision_labels: int = 0
    span_tokens: int = 0
    counts: dict[str, int] = field(default_factory=dict)


class _Writer:
    """Text written in ~1 MiB pieces to a binary stream (the zip member compresses each write)."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream, self.parts, self.size = stream, list[str](), 0

    def write(self, text: str) -> None:
        self.parts.append(text)
        self.size += len(text)
        if self.size >= FLUSH_BYTES:
            self.flush()

    def flush(self) -> None:
        if self.parts:
            self.stream.write("".join(self.parts).encode("utf-8"))
            self.parts, self.size = [], 0


class _List:
    """A JSON list written item by item."""

    def __init__(self, out: _Writer, key: str, *, first: bool = False) -> None:
        self.out, self.count = out, 0
        out.write(("" if first else ", ") + json.dumps(key) + ": [")

    def add(self, item: dict[str, Any]) -> None:
        self.raw(json.dumps(item, ensure_ascii=False))

    def raw(self, text: str) -> None:
        self.out.write(text if self.count == 0 else ", " + text)
        self.count += 1

    def close(self) -> int:
        self.out.write("]")
        return self.count


def export_snapshot(project_id: uuid.UUID, target: Path) -> ExportSummary:
    """Write the project's snapshot (a zip holding ``project_export_<time>.json``) to ``target``."""
    summary = ExportSummary()
    connection = raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        member = f"project_export_{datetime.now(UTC).strftime('%Y_%m_%d_%H_%M_%S')}.json"
        with (
            zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive,
            archive.open(member, "w", force_zip64=True) as stream,
        ):
            out = _Writer(stream)
            _write(connection, cursor, project_id, out, summary)
            out.flush()
    finally:
        connection.rollback()
        connection.close()
    return summary


def _small(cursor: Any, sql: str, project_id: uuid.UUID) -> list[dict[str, Any]]:
    cursor.execute(sql, (str(project_id),))
    names = [column.name for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _write(connection: Any, cursor: Any, project_id: uuid.UUID, out: _Writer, summary: ExportSummary) -> None:
    pid = str(project_id)
    cursor.execute("SELECT id, name, description, tokenizer FROM project WHERE id = %s", (pid,))
    project = cursor.fetchone()
    if project is None:
        raise LookupError(f"project {project_id} does not exist")
    details = {
        "id": str(project[0]),
        "name": project[1],
        "description": project[2],
        "tokenizer": project[3],
        "status": "INIT_COMPLETE",
    }
    out.write('{"project_details_data": ' + json.dumps(details, ensure_ascii=False))

    records = _List(out, "records_data")
    with connection.cursor(name="snapshot_records") as rows:
        rows.itersize = ROWS_PER_FETCH
        rows.execute("SELECT id, data::text FROM record WHERE project_id = %s ORDER BY id", (pid,))
        for record_id, data in rows:
            records.raw(f'{{"id": "{record_id}", "data": {data}, "category": "SCALE"}}')
    summary.records = records.close()
    for key in EMPTY_KEYS[:2]:
        _List(out, key).close()

    attributes = _small(
        cursor,
        "SELECT id, name, data_type, is_primary_key, relative_position, user_created, source_code, state, visibility"
        " FROM attribute WHERE project_id = %s ORDER BY relative_position, name",
        project_id,
    )
    _dump(out, "attributes_data", [{**a, "id": str(a["id"])} for a in attributes], summary)

    tasks = _small(
        cursor,
        "SELECT id, attribute_id, name, task_target, task_type FROM labeling_task WHERE project_id = %s ORDER BY name",
        project_id,
    )
    task_types = {str(t["id"]): t["task_type"] for t in tasks}
    attribute_names = {a["id"]: a["name"] for a in attributes}
    task_attributes = {str(t["id"]): attribute_names.get(t["attribute_id"]) for t in tasks}
    _dump(out, "labeling_tasks_data", [{**t, "id": str(t["id"]), "attribute_id": _id(t["attribute_id"])} for t in tasks], summary)

    labels = _small(
        cursor, "SELECT id, labeling_task_id, name, color, hotkey FROM label WHERE project_id = %s ORDER BY name", project_id
    )
    _dump(
        out,
        "labeling_task_labels_data",
        [{**label, "id": str(label["id"]), "labeling_task_id": str(label["labeling_task_id"])} for label in labels],
        summary,
    )

    sources = _small(
        cursor,
        "SELECT id, name, type, description, source_code, config, is_selected, created_at, labeling_task_id"
        " FROM information_source WHERE project_id = %s ORDER BY created_at, name",
        project_id,
    )
    _dump(out, "information_sources_data", [_source(s, task_types, task_attributes) for s in sources], summary)
    for key in EMPTY_KEYS[2:4]:
        _List(out, key).close()

    associations = _List(out, "record_label_associations_data")
    summary.manual_labels = _manual(connection, pid, associations)
    summary.heuristic_labels = _votes(connection, pid, associations)
    summary.weak_supervision_labels = _weak(connection, pid, associations)
    associations.close()
    tokens = _List(out, "record_label_association_tokens_data")
    _manual(connection, pid, tokens, spans_only=True)
    _votes(connection, pid, tokens, spans_only=True)
    _weak(connection, pid, tokens, spans_only=True)
    summary.span_tokens = tokens.close()
    _List(out, EMPTY_KEYS[4]).close()

    lists = _small(cursor, "SELECT id, name, description FROM lookup_list WHERE project_id = %s ORDER BY name", project_id)
    _dump(out, "knowledge_bases_data", [{**k, "id": str(k["id"])} for k in lists], summary)
    _dump(out, "weak_supervision_task_data", _weak_versions(cursor, project_id), summary)
    terms = _small(
        cursor,
        "SELECT t.lookup_list_id AS knowledge_base_id, t.value, t.comment, t.blacklisted FROM lookup_term t"
        " JOIN lookup_list l ON l.id = t.lookup_list_id WHERE l.project_id = %s ORDER BY l.name, t.value",
        project_id,
    )
    _dump(out, "terms_data", [{**t, "knowledge_base_id": str(t["knowledge_base_id"])} for t in terms], summary)
    _slices(connection, cursor, project_id, out, summary)
    _List(out, EMPTY_KEYS[5]).close()
    out.write("}")


def _slices(connection: Any, cursor: Any, project_id: uuid.UUID, out: _Writer, summary: ExportSummary) -> None:
    """Data slices (this installation's filter model in ``filter_raw``; ``static`` for frozen ones) and the records
    of the static and outlier slices."""
    slices = _small(
        cursor,
        "SELECT id, name, type, filter, info, created_at FROM data_slice WHERE project_id = %s ORDER BY created_at, name",
        project_id,
    )
    _dump(
        out,
        "data_slice_data",
        [
            {
                "id": str(s["id"]),
                "project_id": str(project_id),
                "name": s["name"],
                "filter_raw": s["filter"],
                "filter_data": None,
                "static": s["type"] != "DYNAMIC_DEFAULT",
                "slice_type": s["type"],
                "info": s["info"],
                "created_at": _time(s["created_at"]),
            }
            for s in slices
        ],
        summary,
    )
    members = _List(out, "data_slice_record_association_data")
    with connection.cursor(name="snapshot_slice_records") as rows:
        rows.itersize = ROWS_PER_FETCH
        rows.execute(
            "SELECT r.data_slice_id, r.record_id, r.outlier_score FROM data_slice_record r"
            " JOIN data_slice s ON s.id = r.data_slice_id WHERE s.project_id = %s ORDER BY 1, 2",
            (str(project_id),),
        )
        for slice_id, record_id, score in rows:
            members.raw(f'{{"data_slice_id": "{slice_id}", "record_id": "{record_id}", "outlier_score": {json.dumps(score)}}}')
    summary.counts["data_slice_record_association_data"] = members.close()


def _dump(out: _Writer, key: str, items: list[dict[str, Any]], summary: ExportSummary) -> None:
    listing = _List(out, key)
    for item in items:
        listing.add(item)
    summary.counts[key] = listing.close()


def _source(row: dict[str, Any], task_types: dict[str, str], task_attributes: dict[str, str | None]) -> dict[str, Any]:
    """An information source as the original writes it; a zero-shot one keeps its configuration in ``source_code``
    (a JSON object: ``config`` the model, ``attribute`` (the task's when it names none), ``min_confidence``,
    ``excluded_labels``, ``label_descriptions`` and any other setting)."""
    task_id = str(row["labeling_task_id"])
    code = row["source_code"]
    if row["type"] == HeuristicType.ZERO_SHOT.value:
        config = dict(row["config"] or {})
        model = config.pop("model", None)
        attribute = config.pop("attribute", None) or task_attributes.get(task_id)
        code = json.dumps({"config": model, "attribute": attribute, **config}, ensure_ascii=False)
    return {
        "id": str(row["id"]),
        "name": row["name"],
        "type": row["type"],
        "return_type": "YIELD" if task_types.get(task_id) == TaskType.INFORMATION_EXTRACTION.value else "RETURN",
        "description": row["description"],
        "source_code": code,
        "is_selected": row["is_selected"],
        "version": 1,
        "created_at": _time(row["created_at"]),
        "labeling_task_id": task_id,
    }


def _tokens(association_id: str, start: int, end: int) -> list[str]:
    return [
        f'{{"record_label_association_id": "{association_id}", "token_index": {index},'
        f' "is_beginning_token": {"true" if index == start else "false"}}}'
        for index in range(start, end)
    ]


def _manual(connection: Any, pid: str, out: _List, *, spans_only: bool = False) -> int:
    """Manual labels of the project's records (or, with ``spans_only``, their spans' token rows)."""
    count = 0
    with connection.cursor(name="snapshot_manual") as rows:
        rows.itersize = ROWS_PER_FETCH
        rows.execute(
            "SELECT a.id, a.record_id, a.label_id, a.return_type, a.confidence, a.created_by, a.created_at,"
            " a.is_gold_star, a.is_valid_manual_label, a.token_start, a.token_end"
            " FROM record_label_association a JOIN record r ON r.id = a.record_id AND r.project_id = a.project_id"
            " JOIN label l ON l.id = a.label_id AND l.labeling_task_id = a.labeling_task_id"
            " WHERE a.project_id = %s AND a.source_type = 'MANUAL'"
            + (" AND a.token_start IS NOT NULL" if spans_only else "")
            + " ORDER BY a.record_id, a.created_at, a.id",
            (pid,),
        )
        for row in rows:
            if spans_only:
                for text in _tokens(str(row[0]), row[9], row[10]):
                    out.raw(text)
                continue
            out.add(
                {
                    "id": str(row[0]),
                    "source_id": "None",
                    "record_id": str(row[1]),
                    "labeling_task_label_id": str(row[2]),
                    "source_type": "MANUAL",
                    "return_type": row[3],
                    "confidence": 1.0 if row[4] is None else row[4],
                    "is_gold_star": row[7],
                    "created_by": _id(row[5]),
                    "created_at": _time(row[6]),
                    "weak_supervision_id": "None",
                    "is_valid_manual_label": row[8],
                }
            )
            count += 1
    return count


def _votes(connection: Any, pid: str, out: _List, *, spans_only: bool = False) -> int:
    """Heuristics' votes, one association per vote, with its confidence; or, with ``spans_only``, the token rows of
    span votes. A vote's id is made of its chunk's id and its place there (unique, in UUID form; cheaper than a
    hash per vote)."""
    count = 0
    with connection.cursor(name="snapshot_votes") as rows:
        rows.itersize = CHUNKS_PER_FETCH
        rows.execute(
            "SELECT id, source_id, label_id, record_ids, token_starts, token_ends, confidences, created_at"
            " FROM heuristic_result WHERE project_id = %s"
            + (" AND token_starts IS NOT NULL" if spans_only else "")
            + " ORDER BY source_id, id",
            (pid,),
        )
        for chunk_id, source_id, label_id, record_ids, starts, ends, confidences, created_at in rows:
            source, label = uuid.UUID(str(source_id)), uuid.UUID(str(label_id))
            digits = f"{chunk_id:020x}"
            prefix = f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-"
            created = json.dumps(_time(created_at))
            head = f', "source_id": "{source}", "record_id": "'
            tail = (
                f'", "labeling_task_label_id": "{label}", "source_type": "INFORMATION_SOURCE",'
                f' "return_type": "{"RETURN" if starts is None else "YIELD"}", "confidence": '
            )
            end_text = (
                f', "is_gold_star": false, "created_by": "None", "created_at": {created},'
                ' "weak_supervision_id": "None", "is_valid_manual_label": false}'
            )
            for index, record_id in enumerate(record_ids):
                start = None if starts is None else starts[index]
                stop = None if ends is None else ends[index]
                association = f"{prefix}{index:012x}"
                if spans_only:
                    assert start is not None and stop is not None  # only span chunks are read
                    for text in _tokens(association, start, stop):
                        out.raw(text)
                    continue
                weight = 1.0 if confidences is None or confidences[index] is None else float(confidences[index])
                out.raw(f'{{"id": "{association}"{head}{record_id}{tail}{json.dumps(weight)}{end_text}')
                count += 1
    return count


def _weak_id(version_id: uuid.UUID, record_id: int, position: int) -> str:
    """A weak-supervision label's association id: its version's id mixed with its record and place there (unique in
    the file, in UUID form; cheaper than a hash per label)."""
    return str(uuid.UUID(int=version_id.int ^ ((record_id << 16) | position)))


def _weak(connection: Any, pid: str, out: _List, *, spans_only: bool = False) -> int:
    """The current weak-supervision version's labels of every task, one association per label with its confidence
    (``weak_supervision_id``: the version); or, with ``spans_only``, the token rows of their spans."""
    count = 0
    with connection.cursor(name="snapshot_weak") as rows:
        rows.itersize = ROWS_PER_FETCH
        rows.execute(
            "SELECT w.version_id, w.record_id, w.label_ids, w.confidences, w.token_starts, w.token_ends, c.switched_at"
            " FROM weak_supervision_label w JOIN weak_supervision_current c ON c.labeling_task_id = w.labeling_task_id"
            " WHERE w.project_id = %s" + (" AND w.token_starts IS NOT NULL" if spans_only else "") + " ORDER BY w.record_id, 1",
            (pid,),
        )
        for version_id, record_id, label_ids, confidences, starts, ends, switched_at in rows:
            version = uuid.UUID(str(version_id))
            created = json.dumps(_time(switched_at))
            for index, label_id in enumerate(label_ids):
                association = _weak_id(version, record_id, index + 1)
                start = None if starts is None else starts[index]
                stop = None if ends is None else ends[index]
                if spans_only:
                    if start is not None and stop is not None:
                        for text in _tokens(association, start, stop):
                            out.raw(text)
                    continue
                confidence = None if confidences[index] is None else float(confidences[index])
                out.raw(
                    f'{{"id": "{association}", "source_id": "None", "record_id": "{record_id}",'
                    f' "labeling_task_label_id": "{label_id}", "source_type": "WEAK_SUPERVISION",'
                    f' "return_type": "{"RETURN" if start is None else "YIELD"}", "confidence": {json.dumps(confidence)},'
                    f' "is_gold_star": null, "created_by": "None", "created_at": {created},'
                    f' "weak_supervision_id": "{version}", "is_valid_manual_label": null}}'
                )
                count += 1
    return count


def _weak_versions(cursor: Any, project_id: uuid.UUID) -> list[dict[str, Any]]:
    """Each task's current weak-supervision version as the original lists a finished run: its id (the labels'
    ``weak_supervision_id``), the run's user, times and heuristics when a run made it, and the task's name."""
    versions = _small(
        cursor,
        "SELECT c.version_id, t.name AS task, v.created_at, c.switched_at, r.created_by, r.started_at, r.finished_at,"
        " r.options, (SELECT count(*) FROM weak_supervision_result w WHERE w.version_id = c.version_id) AS records,"
        " (SELECT coalesce(sum(cardinality(w.label_ids)), 0) FROM weak_supervision_result w"
        "  WHERE w.version_id = c.version_id) AS labels"
        " FROM weak_supervision_current c JOIN labeling_task t ON t.id = c.labeling_task_id"
        " JOIN weak_supervision_version v ON v.id = c.version_id LEFT JOIN weak_supervision_run r ON r.id = c.version_id"
        " WHERE t.project_id = %s ORDER BY t.name",
        project_id,
    )
    names = dict(_small_pairs(cursor, "SELECT id::text, name FROM information_source WHERE project_id = %s", project_id))
    out = []
    for v in versions:
        used = (v["options"] or {}).get("heuristic_ids") or []
        out.append(
            {
                "id": str(v["version_id"]),
                "state": "FINISHED",
                "created_at": _time(v["started_at"] or v["created_at"]),
                "created_by": _id(v["created_by"]),
                "finished_at": _time(v["finished_at"] or v["switched_at"]),
                "selected_information_sources": ", ".join(names[h] for h in used if h in names),
                "selected_labeling_tasks": v["task"],
                "distinct_records": int(v["records"]),
                "result_count": int(v["labels"]),
            }
        )
    return out


def _small_pairs(cursor: Any, sql: str, project_id: uuid.UUID) -> list[tuple[Any, Any]]:
    cursor.execute(sql, (str(project_id),))
    return [(row[0], row[1]) for row in cursor.fetchall()]
