"""Load an uploaded file into a project in ONE transaction: stage with COPY, infer types, build records in SQL.

1. The rows are copied into a temporary table of text columns (``c0 … cN``): CSV files go to Postgres as they are
   (``COPY … FORMAT csv``, parsed by the server while Python streams the bytes); JSON, JSONL and XLSX rows are parsed
   in Python and streamed as COPY text, chunk by chunk. Each staged row draws its record id from the record sequence.
2. Types are inferred in SQL (:mod:`.types`), or checked against the project's attributes when appending.
3. ``INSERT … SELECT`` builds every record's JSONB in Postgres; label columns become tasks, labels and MANUAL labels.

Any failure rolls everything back: no records, attributes, tasks or labels are left behind.

Why one module of ~500 lines: it is the steps of one transaction, in the order they run, sharing the plan and the
cursor; split, a reader would follow the transaction across files.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg2
import psycopg2.errors
import psycopg2.extras

from shared_model.db import raw_connection
from shared_model.models import AttributeState, DataType, TaskTarget, TaskType
from shared_model.service.input_checks import NUL_PROBLEM

from .. import label_history
from .cells import ColumnKinds, UploadError, max_field_length, too_long, where
from .csv_reader import ByteLimitReader, csv_find_nul, csv_payload_size
from .object_readers import open_rows
from .readers import ChunkReader, copy_text_chunks, read_head
from .types import ACCEPTS, infer_type, json_value_sql, not_unique

RUNNING_ID = "running_id"
MAX_LABEL_LENGTH = 200
PALETTE = ["#ef4444", "#3b82f6", "#22c55e", "#eab308", "#a855f7", "#f97316", "#14b8a6", "#ec4899", "#64748b", "#84cc16"]

psycopg2.extras.register_uuid()
log = logging.getLogger("gateway.upload")


@dataclass
class LabelColumn:
    """A column ``attr__task`` (or ``__task``): manual labels of a classification task."""

    name: str
    index: int
    task: str
    attribute: str | None  # None: the task is on the whole record


@dataclass
class Columns:
    """An upload's header split into attribute columns and label columns."""

    header: list[str]
    data: list[str]
    labels: list[LabelColumn] = field(default_factory=list)


def split_columns(filename: str, header: list[str], existing_attributes: set[str] = frozenset()) -> Columns:  # type: ignore[assignment]
    """Label columns are ``x__task`` where ``x`` is empty or another column (or attribute); the rest are attributes."""
    names = set(header) | set(existing_attributes)
    labels: list[LabelColumn] = []
    data: list[str] = []
    for index, name in enumerate(header):
        prefix, sep, task = name.partition("__")
        if sep and task and (prefix == "" or prefix in names):
            labels.append(LabelColumn(name, index, task, prefix or None))
        else:
            data.append(name)
    attribute_names = set(data) | set(existing_attributes)
    tasks: dict[str, str] = {}
    for label in labels:
        if label.attribute is not None and label.attribute not in attribute_names:
            raise UploadError(
                f"{where(filename, column=label.name)}: label column refers to {label.attribute!r}, which is a label column"
            )
        if label.task in tasks:
            raise UploadError(
                f"{where(filename, column=label.name)}: labeling task {label.task!r} also comes from"
                f" column {tasks[label.task]!r}; task names must be unique"
            )
        tasks[label.task] = label.name
    return Columns(header, data, labels)


def schema_differences(columns: Columns, attributes: dict[str, dict[str, Any]]) -> list[str]:
    """How an upload's attribute columns differ from a project's uploaded attributes (empty: they match)."""
    if not attributes:
        return []
    expected = [name for name, a in attributes.items() if a["state"] == AttributeState.UPLOADED.value and not a["user_created"]]
    missing = [name for name in expected if name not in columns.data]
    extra = [name for name in columns.data if name not in attributes]
    problems = []
    if missing:
        problems.append("missing columns: " + ", ".join(repr(n) for n in missing))
    if extra:
        problems.append("columns the project does not have: " + ", ".join(repr(n) for n in extra))
    return problems


def project_attributes(cursor: Any, project_id: uuid.UUID) -> dict[str, dict[str, Any]]:
    """The project's attributes by name, in column order."""
    cursor.execute(
        "SELECT name, id, data_type, is_primary_key, relative_position, state, user_created FROM attribute"
        " WHERE project_id = %s ORDER BY relative_position",
        (project_id,),
    )
    return {
        row[0]: {"id": row[1], "data_type": row[2], "pk": row[3], "position": row[4], "state": row[5], "user_created": row[6]}
        for row in cursor.fetchall()
    }


def project_has_records(cursor: Any, project_id: uuid.UUID) -> bool:
    cursor.execute("SELECT EXISTS (SELECT 1 FROM record WHERE project_id = %s)", (project_id,))
    return bool(cursor.fetchone()[0])


_CONTEXT_LINE = re.compile(r"line (\d+)")
_CONTEXT_COLUMN = re.compile(r"column (c\d+)")
_STAGED_NAME = re.compile(r'"(c\d+)"')


def copy_error(exc: psycopg2.Error, filename: str, header: list[str], csv_header: bool) -> UploadError:
    """A COPY failure as an upload error naming the file, the row and the column."""
    diag = exc.diag
    message = diag.message_primary or str(exc).strip().splitlines()[0]
    context = diag.context or ""
    line = _CONTEXT_LINE.search(context)
    row = (int(line.group(1)) - (1 if csv_header else 0)) if line else None
    column_match = _CONTEXT_COLUMN.search(context) or _STAGED_NAME.search(message)
    column = header[int(column_match.group(1)[1:])] if column_match and int(column_match.group(1)[1:]) < len(header) else None
    message = _STAGED_NAME.sub(
        lambda m: repr(header[int(m.group(1)[1:])]) if int(m.group(1)[1:]) < len(header) else m.group(0), message
    )
    if message.startswith("invalid byte sequence") and message.rstrip().endswith("0x00"):
        message = f"the text {NUL_PROBLEM}"
    elif message.startswith("invalid byte sequence"):
        message = f"the file is not UTF-8 text ({message})"
    elif message.startswith(("extra data after last expected column", "missing data for column")):
        message = f"the row does not have the header's {len(header)} columns ({message})"
    return UploadError(f"{where(filename, row, column)}: {message}")


@dataclass
class UploadPlan:
    """What the upload job needs to know."""

    project_id: uuid.UUID
    user_id: uuid.UUID | None
    path: Path
    filename: str
    fmt: str
    delimiter: str = ","
    max_columns: int = 500
    chunk_rows: int = 50_000
    stage: str = field(default_factory=lambda: f"upload_stage_{uuid.uuid4().hex[:16]}")


Progress = Callable[[float, str], None]


def load_upload(
    plan: UploadPlan, progress: Progress, finish: Callable[[Any, dict[str, Any]], None] | None = None
) -> dict[str, Any]:
    """Run an upload in one transaction; returns counts and the attribute types. Raises :class:`UploadError`.

    ``finish(cursor, result)`` runs last in that transaction (the job marks itself done there: records and the job's
    end commit together)."""
    conn = raw_connection()
    try:
        cursor = conn.cursor()
        cursor.execute("SET LOCAL client_encoding TO 'UTF8'")
        cursor.execute("SET LOCAL work_mem = '256MB'")  # hashed DISTINCTs of type inference stay in memory
        cursor.execute("SELECT id FROM project WHERE id = %s FOR UPDATE", (plan.project_id,))
        if cursor.fetchone() is None:
            raise UploadError(f"project {plan.project_id} no longer exists", 404)
        result = _load(cursor, plan, progress)
        if finish is not None:
            finish(cursor, result)
        conn.commit()
        return result
    except BaseException:
        conn.rollback()
        raise
    finally:
        conn.close()


def _load(cursor: Any, plan: UploadPlan, progress: Progress) -> dict[str, Any]:
    started = time.perf_counter()
    phases: dict[str, float] = {}

    def phase(name: str) -> None:
        phases[name] = round(time.perf_counter() - started - sum(phases.values()), 3)

    attributes = project_attributes(cursor, plan.project_id)
    appending = bool(attributes) and project_has_records(cursor, plan.project_id)
    if not appending:
        attributes = {}
    head = read_head(plan.path, plan.filename, plan.fmt, plan.max_columns, max_rows=1)
    columns = split_columns(plan.filename, head.header, set(attributes))
    differences = schema_differences(columns, attributes)
    if differences:
        raise UploadError(f"{plan.filename} does not match the project's attributes: " + "; ".join(differences), 409)

    staged = [f"c{i}" for i in range(len(columns.header))]
    cursor.execute("SELECT pg_get_serial_sequence('record', 'id')")
    sequence = cursor.fetchone()[0]
    cursor.execute(
        f"CREATE UNLOGGED TABLE {plan.stage} ({', '.join(f'{c} text' for c in staged)},"
        f" _n bigint GENERATED ALWAYS AS IDENTITY, _rid bigint DEFAULT nextval('{sequence}'))"
    )
    kinds = ColumnKinds([False] * len(staged))
    rows = _stage(cursor, plan, head.delimiter, columns.header, staged, kinds, progress)
    if rows == 0:
        raise UploadError(f"{plan.filename}: the file has a header but no rows")
    phase("stage")
    progress(0.75, f"staged {rows} rows; inferring types")

    index = {name: i for i, name in enumerate(columns.header)}
    types: dict[str, DataType] = {}
    mismatches: list[str] = []
    for name in columns.data:
        inferred = infer_type(cursor, plan.stage, staged[index[name]], rows, kinds.strings[index[name]])
        if appending:
            target = DataType(attributes[name]["data_type"])
            values_exist = inferred != DataType.TEXT or _has_values(cursor, plan.stage, staged[index[name]])
            if values_exist and inferred not in ACCEPTS.get(target, set()):
                mismatches.append(f"column {name!r} holds {inferred.value} values but the attribute is {target.value}")
            types[name] = target
        else:
            types[name] = inferred
    if mismatches:
        raise UploadError(f"{plan.filename} does not match the project's attributes: " + "; ".join(mismatches), 409)

    phase("infer")
    running_offset: int | None = None
    if appending:
        keys = [name for name, a in attributes.items() if a["pk"]]
        key_reason = (
            f"kept the project's primary key ({', '.join(repr(k) for k in keys)})" if keys else "the project has no primary key"
        )
        if RUNNING_ID in attributes and RUNNING_ID not in columns.data:
            cursor.execute(
                "SELECT coalesce(max((data->>%s)::bigint) + 1, 0) FROM record WHERE project_id = %s",
                (RUNNING_ID, plan.project_id),
            )
            running_offset = int(cursor.fetchone()[0])
        attribute_ids = {name: a["id"] for name, a in attributes.items()}
    else:
        attribute_ids, key_reason = _create_attributes(cursor, plan, columns, types, index, staged)
        if RUNNING_ID in attribute_ids and RUNNING_ID not in columns.data:
            running_offset = 0
    progress(0.8, f"creating {rows} records")

    pairs: list[tuple[str, str]] = []
    if running_offset is not None:
        pairs.append((RUNNING_ID, f"(_n - 1 + {int(running_offset)})"))
    pairs += [(name, json_value_sql(staged[index[name]], types[name])) for name in columns.data]
    data_sql, params = _jsonb_sql(pairs)
    cursor.execute(
        f"INSERT INTO record (id, project_id, data, created_at) SELECT _rid, %s, {data_sql}, now() FROM {plan.stage}",
        (plan.project_id, *params),
    )
    phase("records")
    progress(0.9, "importing labels")
    label_counts = {
        label.task: _import_labels(cursor, plan, label, staged[label.index], attribute_ids) for label in columns.labels
    }
    cursor.execute(f"DROP TABLE {plan.stage}")
    phase("labels")
    log.info("upload loaded", extra={"file": plan.filename, "rows": rows, "seconds": phases})
    return {
        "records": rows,
        "attributes": {name: types[name].value for name in columns.data},
        "primary_key": [name for name, a in project_attributes(cursor, plan.project_id).items() if a["pk"]],
        "primary_key_reason": key_reason,
        "manual_labels": label_counts,
        "file": plan.filename,
        "seconds": phases,
    }


def _has_values(cursor: Any, stage: str, column: str) -> bool:
    cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {stage} WHERE {column} IS NOT NULL)")
    return bool(cursor.fetchone()[0])


def _stage(
    cursor: Any,
    plan: UploadPlan,
    delimiter: str,
    header: list[str],
    staged: list[str],
    kinds: ColumnKinds,
    progress: Progress,
) -> int:
    """COPY the file's rows into the staging table; returns the row count."""
    column_list = ", ".join(staged)
    failure: list[BaseException] = []
    try:
        if plan.fmt == "csv":
            size = csv_payload_size(plan.path)
            with plan.path.open("rb") as handle:
                reader = ByteLimitReader(
                    handle,
                    size,
                    lambda done: _report(progress, failure, 0.7 * done / max(size, 1), f"read {done} of {size} bytes"),
                )
                delim = "E'\\t'" if delimiter == "\t" else f"'{delimiter}'"
                cursor.copy_expert(
                    f"COPY {plan.stage} ({column_list}) FROM STDIN"
                    f" WITH (FORMAT csv, HEADER true, DELIMITER {delim}, ENCODING 'UTF8')",
                    reader,
                    size=1 << 20,
                )
        else:
            source = open_rows(plan.path, plan.filename, plan.fmt, plan.max_columns)
            total = plan.path.stat().st_size
            try:
                chunks = copy_text_chunks(
                    source,
                    plan.filename,
                    kinds,
                    plan.chunk_rows,
                    lambda n: _report(progress, failure, 0.7 * _fraction(plan, n, total), f"read {n} rows"),
                )
                cursor.copy_expert(
                    f"COPY {plan.stage} ({column_list}) FROM STDIN", ChunkReader(_guard(chunks, failure)), size=1 << 20
                )
            finally:
                source.close()
    except psycopg2.Error as exc:
        if failure:
            raise failure[0] from None
        error = copy_error(exc, plan.filename, header, csv_header=plan.fmt == "csv")
        if plan.fmt == "csv" and NUL_PROBLEM in error.detail:  # COPY names the line only: find the row and column
            error = csv_find_nul(plan.path, plan.filename, delimiter) or error
        raise error from None
    if failure:
        raise failure[0]
    rows = int(cursor.rowcount)
    if plan.fmt == "csv":  # Python checked the first rows' cells; Postgres checks the rest in one scan
        _check_field_lengths(cursor, plan, header, staged)
    return rows


def _check_field_lengths(cursor: Any, plan: UploadPlan, header: list[str], staged: list[str]) -> None:
    """Refuse a staged cell longer than the setting ``upload_max_field_length``, naming its row and column."""
    limit = max_field_length()
    # octet_length reads the value's header only; length counts characters, so it runs on long values alone
    condition = " OR ".join(f"(octet_length({c}) > %(limit)s AND length({c}) > %(limit)s)" for c in staged)
    cursor.execute(
        f"SELECT _n, {', '.join(f'length({c})' for c in staged)} FROM {plan.stage} WHERE {condition} ORDER BY _n LIMIT 1",
        {"limit": limit},
    )
    found = cursor.fetchone()
    if found is None:
        return
    index = next(i for i, length in enumerate(found[1:]) if length is not None and length > limit)
    raise too_long(plan.filename, int(found[0]), header[index], int(found[1 + index]))


def _fraction(plan: UploadPlan, rows: int, total_bytes: int) -> float:
    return min(1.0, rows / max(1, total_bytes // 100))


def _report(progress: Progress, failure: list[BaseException], fraction: float, message: str) -> None:
    try:
        progress(fraction, message)
    except BaseException as exc:  # cancellation inside COPY: remember it, let COPY fail, re-raise afterwards
        failure.append(exc)
        raise


def _guard(chunks: Iterator[bytes], failure: list[BaseException]) -> Iterator[bytes]:
    try:
        yield from chunks
    except BaseException as exc:
        failure.append(exc)
        raise


def _jsonb_sql(pairs: list[tuple[str, str]]) -> tuple[str, list[str]]:
    """``jsonb_build_object(k, v, …) || …`` in groups of 50 pairs (the function takes at most 100 arguments)."""
    if not pairs:
        return "'{}'::jsonb", []
    parts: list[str] = []
    params: list[str] = []
    for start in range(0, len(pairs), 50):
        group = pairs[start : start + 50]
        parts.append("jsonb_build_object(" + ", ".join(f"%s, {expr}" for _, expr in group) + ")")
        params.extend(name for name, _ in group)
    return " || ".join(parts), params


def _create_attributes(
    cursor: Any, plan: UploadPlan, columns: Columns, types: dict[str, DataType], index: dict[str, int], staged: list[str]
) -> tuple[dict[str, uuid.UUID], str]:
    """Attributes of a first upload and why the primary key is what it is: the first INTEGER column with a value in
    every row and none twice; with no INTEGER column an added ``running_id`` (0, 1, 2 …); else none."""
    project_id = plan.project_id
    integer_columns = [name for name in columns.data if types[name] == DataType.INTEGER]
    primary: str | None = None
    rejected: list[str] = []
    for name in integer_columns:
        why = not_unique(cursor, plan.stage, staged[index[name]])
        if why is None:
            primary = name
            break
        rejected.append(f"{name!r} {why}")
    others = f"; not earlier INTEGER columns: {', '.join(rejected)}" if rejected else ""
    if primary is not None:
        reason = f"{primary!r}: the first INTEGER column with a value in every row and no value twice{others}"
    elif not integer_columns and RUNNING_ID not in columns.data:
        reason = f"no INTEGER column: an added {RUNNING_ID!r} (0, 1, 2 …) numbers the records"
    else:
        found = ", ".join(rejected) or "there is none"
        reason = (
            f"none: no INTEGER column has a value in every row and no value twice ({found}); set one with"
            " PUT /api/v1/projects/{project_id}/attributes/{attribute_id}/primary-key"
        )
    rows: list[tuple[Any, ...]] = []
    position = 0
    if not integer_columns and RUNNING_ID not in columns.data:
        rows.append(
            (
                uuid.uuid4(),
                project_id,
                RUNNING_ID,
                DataType.INTEGER.value,
                True,
                position,
                AttributeState.AUTOMATICALLY_CREATED.value,
            )
        )
        position += 1
    for name in columns.data:
        rows.append((uuid.uuid4(), project_id, name, types[name].value, name == primary, position, AttributeState.UPLOADED.value))
        position += 1
    psycopg2.extras.execute_values(
        cursor,
        "INSERT INTO attribute (id, project_id, name, data_type, is_primary_key, relative_position, state,"
        " user_created, visibility, created_at) VALUES %s",
        rows,
        template="(%s, %s, %s, %s, %s, %s, %s, false, 'DO_NOT_HIDE', now())",
    )
    return {row[2]: row[0] for row in rows}, reason


def _import_labels(cursor: Any, plan: UploadPlan, label: LabelColumn, column: str, attribute_ids: dict[str, uuid.UUID]) -> int:
    """Create (or reuse) the label column's task and labels and insert its MANUAL labels; returns how many."""
    cursor.execute(f"SELECT _n FROM {plan.stage} WHERE length({column}) > %s LIMIT 1", (MAX_LABEL_LENGTH,))
    too_long = cursor.fetchone()
    if too_long:
        raise UploadError(
            f"{where(plan.filename, int(too_long[0]), label.name)}: label name longer than {MAX_LABEL_LENGTH} characters"
        )
    target = TaskTarget.ON_WHOLE_RECORD if label.attribute is None else TaskTarget.ON_ATTRIBUTE
    attribute_id = attribute_ids[label.attribute] if label.attribute is not None else None
    cursor.execute(
        "SELECT id, attribute_id, task_type FROM labeling_task WHERE project_id = %s AND name = %s", (plan.project_id, label.task)
    )
    existing = cursor.fetchone()
    if existing is not None:
        task_id = existing[0]
        if existing[1] != attribute_id or existing[2] != TaskType.MULTICLASS_CLASSIFICATION.value:
            raise UploadError(
                f"{where(plan.filename, column=label.name)}: the project's task {label.task!r} is not a classification task on"
                f" {'the whole record' if label.attribute is None else repr(label.attribute)}",
                409,
            )
    else:
        task_id = uuid.uuid4()
        cursor.execute(
            "INSERT INTO labeling_task (id, project_id, name, attribute_id, task_target, task_type, created_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, now())",
            (task_id, plan.project_id, label.task, attribute_id, target.value, TaskType.MULTICLASS_CLASSIFICATION.value),
        )
    cursor.execute(
        f"SELECT DISTINCT {column} FROM {plan.stage} WHERE {column} IS NOT NULL AND {column} <> ''"
        " EXCEPT SELECT name FROM label WHERE labeling_task_id = %s",
        (task_id,),
    )
    new_names = sorted(row[0] for row in cursor.fetchall())
    cursor.execute("SELECT count(*) FROM label WHERE labeling_task_id = %s", (task_id,))
    offset = int(cursor.fetchone()[0])
    if new_names:
        psycopg2.extras.execute_values(
            cursor,
            "INSERT INTO label (id, project_id, labeling_task_id, name, color, created_at) VALUES %s",
            [
                (uuid.uuid4(), plan.project_id, task_id, name, PALETTE[(offset + i) % len(PALETTE)])
                for i, name in enumerate(new_names)
            ],
            template="(%s, %s, %s, %s, %s, now())",
        )
    cursor.execute(
        "INSERT INTO record_label_association (id, project_id, record_id, labeling_task_id, label_id, source_type, return_type,"
        " created_by, is_gold_star, is_valid_manual_label, created_at)"
        f" SELECT gen_random_uuid(), %s, s._rid, %s, l.id, 'MANUAL', 'RETURN', %s, false, true, now()"
        f" FROM {plan.stage} s JOIN label l ON l.labeling_task_id = %s AND l.name = s.{column}",
        (plan.project_id, task_id, plan.user_id, task_id),
    )
    written = int(cursor.rowcount)
    if written:  # the new records' labels in the label history
        cursor.execute(
            label_history.imported_sql(f"a.labeling_task_id = %(task)s AND a.record_id IN (SELECT _rid FROM {plan.stage})"),
            {"via": label_history.Via.UPLOAD.value, "task": task_id},
        )
    return written
