"""Import of the original refinery's "project export" snapshot (a zip holding one JSON file) as a new project.

The file is checked when it arrives (:func:`read_snapshot`: zip or JSON, one JSON inside, the required keys); the
``snapshot_import`` job then writes the whole project in ONE transaction (:func:`import_snapshot`), so a content
problem (an association naming an unknown record or label, say) leaves nothing behind. Every id is remapped: new
UUIDs, and records get our bigint ids. Weak-supervision labels become each task's current weak-supervision version
(:mod:`.weak_labels`). Embeddings, the runs' history, comments and statistics are skipped (and listed in the job's
result); data slices in this installation's filter format come back (:mod:`.slices`),
others are listed as skipped.
"""

from __future__ import annotations

import json
import re
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

from psycopg2.extras import execute_values
from sqlalchemy.orm import Session

from shared_model.jobs import enqueue
from shared_model.models import (
    Attribute,
    AttributeState,
    DataType,
    Label,
    LabelingTask,
    Project,
    ProjectMember,
    TaskTarget,
    TaskType,
    UserRole,
)

from .heuristics import import_heuristics, import_lookup_lists
from .labels import Mappings, import_associations
from .reading import SnapshotError, check_shape
from .rows import enum_value, need, ref, rows_of
from .slices import import_slices
from .tokenizer import DEFAULT_TOKENIZER, MISSING_PIPELINE, TokenizerChoice, tokenizer_for

SKIPPED_KEYS = {
    "embeddings_data": "embeddings (recompute them in the project)",
    "embedding_tensors_data": "embedding tensors",
    "information_source_payloads_data": "heuristic run history",
    "information_source_statistics_data": "heuristic statistics (recomputed by the next run)",
    "record_attribute_token_statistics_data": "token statistics (recomputed by tokenization)",
    "comments": "comments",
}


DEFAULT_NAME = "imported project"


Progress = Callable[[float, str], None]


def import_snapshot(
    session: Session,
    data: dict[str, Any],
    *,
    user_id: uuid.UUID | None,
    name: str | None,
    progress: Progress,
    tokenizer_note: str | None = None,
    tokenizer: TokenizerChoice | None = None,
    embedding_models: list[str] | None = None,
) -> dict[str, Any]:
    """Create a project from a checked snapshot in ``session`` (the caller commits); returns the job's result.

    ``tokenizer``: what :func:`choose_tokenizer` chose when the file was accepted (its note goes into the result; a
    missing pipeline is kept in the project's settings, which show it as a warning until the tokenizer is set).
    ``tokenizer_note`` (older jobs): the snapshot's tokenizer is not available here: the project gets the default.
    ``embedding_models``: the models this installation's embedder offers (None: it could not be asked), named in the
    notes on active learners."""
    check_shape(data, "the snapshot")
    notes: list[str] = [tokenizer_note] if tokenizer_note else []
    details = data["project_details_data"]
    project_name = (name or str(details.get("name") or "")).strip()[:200] or DEFAULT_NAME
    if tokenizer is None:
        tokenizer = TokenizerChoice(DEFAULT_TOKENIZER if tokenizer_note else tokenizer_for(details.get("tokenizer"), notes))
    elif tokenizer.note:
        notes.append(tokenizer.note)
    project = Project(
        id=uuid.uuid4(),
        name=project_name,
        description=str(details.get("description") or ""),
        tokenizer=tokenizer.tokenizer,
        settings={MISSING_PIPELINE: tokenizer.missing_pipeline} if tokenizer.missing_pipeline else {},
        created_by=user_id,
    )
    session.add(project)
    session.flush()
    if user_id is not None:
        session.add(ProjectMember(project_id=project.id, user_id=user_id, role=UserRole.OWNER))
    progress(0.05, "attributes")
    attribute_ids, attribute_types = _attributes(session, project.id, data, notes)
    progress(0.1, "records")
    record_ids = _records(session, project.id, data, attribute_types)
    progress(0.5, "labeling tasks")
    task_ids, label_ids, label_task, task_types = _tasks(session, project.id, data, attribute_ids)
    lists, terms = import_lookup_lists(session, project.id, data, label_ids)
    progress(0.6, "heuristics")
    source_ids, skipped_sources = import_heuristics(session, project.id, data, task_ids, user_id, notes, embedding_models)
    progress(0.7, "labels")
    ids = Mappings(record_ids, label_ids, label_task, task_ids, task_types, source_ids, skipped_sources)
    association_counts = import_associations(session, project.id, data, ids, user_id)
    progress(0.9, "data slices")
    slices, slice_records, slices_skipped = import_slices(
        session, project.id, data, record_ids, {**task_ids, **label_ids, **source_ids}, user_id
    )
    enqueue(session, kind="tokenize_project", owner_service="tokenizer", project_id=project.id)
    skipped: dict[str, Any] = {
        key: f"{len(data[key])} {what}" for key, what in SKIPPED_KEYS.items() if isinstance(data.get(key), list) and data[key]
    }
    if slices_skipped:
        skipped["data_slice_data"] = f"{slices_skipped} data slices (not in this installation's filter format)"
    for what, count in association_counts.pop("skipped").items():
        skipped[what] = count
    if skipped_sources:
        skipped["heuristics"] = [f"{n} ({why})" for n, why in skipped_sources.values()]
    categories = Counter(str(r.get("category") or "SCALE") for r in rows_of(data, "records_data"))
    if set(categories) - {"SCALE"}:
        notes.append(f"record categories {dict(categories)} are not kept (every record is a regular record)")
    return {
        "project_id": str(project.id),
        "name": project.name,
        "tokenizer": project.tokenizer,
        "attributes": len(attribute_ids),
        "records": len(record_ids),
        "labeling_tasks": len(task_ids),
        "labels": len(label_ids),
        "lookup_lists": lists,
        "terms": terms,
        "heuristics": len(source_ids),
        "manual_labels": association_counts["manual"],
        "heuristic_labels": association_counts["heuristic"],
        "weak_supervision_labels": association_counts["weak_supervision"],
        "data_slices": slices,
        "data_slice_records": slice_records,
        "skipped": skipped,
        "notes": notes,
    }


def _attributes(
    session: Session, project_id: uuid.UUID, data: dict[str, Any], notes: list[str]
) -> tuple[dict[str, uuid.UUID], dict[str, DataType]]:
    """Create the attributes in column order; returns old id -> new id, and name -> data type as imported."""
    rows = sorted(rows_of(data, "attributes_data"), key=lambda a: (int(a.get("relative_position") or 0), str(a.get("name"))))
    if not rows:
        raise SnapshotError("the snapshot has no attributes")
    ids: dict[str, uuid.UUID] = {}
    types: dict[str, DataType] = {}
    seen: set[str] = set()
    for position, row in enumerate(rows, start=1):
        name = str(need(row, "name", "an attribute"))
        if name in seen:
            raise SnapshotError(f"attribute {name!r} appears twice")
        seen.add(name)
        raw_type = str(row.get("data_type") or "TEXT")
        try:
            data_type = DataType(raw_type)
        except ValueError:
            notes.append(f"attribute {name!r}: data type {raw_type!r} imported as TEXT")
            data_type = DataType.TEXT
        calculated = bool(row.get("user_created")) and bool(row.get("source_code"))
        computed = calculated and any(name in (r.get("data") or {}) for r in rows_of(data, "records_data"))
        attribute = Attribute(
            id=uuid.uuid4(),
            project_id=project_id,
            name=name,
            data_type=data_type,
            is_primary_key=bool(row.get("is_primary_key")),
            relative_position=position,
            user_created=calculated,
            source_code=row.get("source_code") if calculated else None,
            # a calculated attribute without values never ran (or failed): run it here
            state=(AttributeState.USABLE if computed else AttributeState.INITIAL) if calculated else AttributeState.UPLOADED,
        )
        session.add(attribute)
        ids[str(row.get("id") or name)] = attribute.id
        types[name] = data_type
    session.flush()
    return ids, types


_VALUE_TYPES: dict[DataType, tuple[type, ...]] = {
    DataType.INTEGER: (int,),
    DataType.FLOAT: (int, float),
    DataType.BOOLEAN: (bool,),
    DataType.TEXT: (str,),
    DataType.CATEGORY: (str,),
}


def _value_problem(value: Any, data_type: DataType) -> str | None:
    """Why a record's value does not fit its attribute's type (None when it does; null always does)."""
    if value is None:
        return None
    wanted = _VALUE_TYPES.get(data_type)
    if wanted is not None and (not isinstance(value, wanted) or (bool not in wanted and isinstance(value, bool))):
        return f"is {type(value).__name__} {str(value)[:40]!r}, not {data_type.value}"
    return None


def _records(session: Session, project_id: uuid.UUID, data: dict[str, Any], types: dict[str, DataType]) -> dict[str, int]:
    """Insert the records with new bigint ids; returns old id -> new id. Every value must fit its attribute's type,
    every field must be an attribute, and primary-key values must be present and unique."""
    rows = rows_of(data, "records_data")
    keys = [str(a["name"]) for a in rows_of(data, "attributes_data") if a.get("is_primary_key") and a.get("name")]
    cursor = session.connection().connection.cursor()
    cursor.execute("SELECT nextval(pg_get_serial_sequence('record', 'id')) FROM generate_series(1, %s)", (len(rows),))
    new_ids = [row[0] for row in cursor.fetchall()]
    mapping: dict[str, int] = {}
    seen_keys: dict[tuple[Any, ...], str] = {}
    values = []
    for row, new_id in zip(rows, new_ids, strict=True):
        old = str(need(row, "id", "a record"))
        record = row.get("data")
        if not isinstance(record, dict):
            raise SnapshotError(f"record {old}: data must be an object")
        if old in mapping:
            raise SnapshotError(f"record id {old} appears twice")
        for field, value in record.items():
            if field not in types:
                raise SnapshotError(f"record {old}: field {field!r} is not an attribute of the snapshot")
            problem_text = _value_problem(value, types[field])
            if problem_text:
                raise SnapshotError(f"record {old}: {field!r} {problem_text}")
        for key_name in keys:
            if record.get(key_name) is None:
                raise SnapshotError(f"record {old} has no value for the primary key {key_name!r}")
        if keys:
            key = tuple(json.dumps(record.get(k), sort_keys=True) for k in keys)
            if key in seen_keys:
                shown = ", ".join(f"{k}={record.get(k)!r}" for k in keys)
                raise SnapshotError(f"records {seen_keys[key]} and {old} share the primary key {shown}")
            seen_keys[key] = old
        mapping[old] = new_id
        values.append((new_id, str(project_id), json.dumps(record)))
    if values:
        execute_values(
            cursor, "INSERT INTO record (id, project_id, data) VALUES %s", values, template="(%s, %s, %s::jsonb)", page_size=2000
        )
    return mapping


def _tasks(
    session: Session, project_id: uuid.UUID, data: dict[str, Any], attribute_ids: dict[str, uuid.UUID]
) -> tuple[dict[str, uuid.UUID], dict[str, uuid.UUID], dict[str, str], dict[str, TaskType]]:
    """Create tasks and labels; returns (old task -> new, old label -> new, old label -> old task, old task -> type)."""
    tasks: dict[str, uuid.UUID] = {}
    types: dict[str, TaskType] = {}
    names: set[str] = set()
    for row in rows_of(data, "labeling_tasks_data"):
        old = str(need(row, "id", "a labeling task"))
        name = str(need(row, "name", f"labeling task {old}"))
        what = f"labeling task {name!r}"
        if name in names:
            raise SnapshotError(f"{what} appears twice")
        names.add(name)
        target = enum_value(TaskTarget, row.get("task_target") or "ON_WHOLE_RECORD", what)
        task_type = enum_value(TaskType, need(row, "task_type", what), what)
        attribute_ref = ref(row.get("attribute_id"))
        attribute_id = None
        if attribute_ref is not None:
            if attribute_ref not in attribute_ids:
                raise SnapshotError(f"{what} names an unknown attribute {attribute_ref}")
            attribute_id = attribute_ids[attribute_ref]
        if task_type == TaskType.INFORMATION_EXTRACTION and attribute_id is None:
            raise SnapshotError(f"{what} is an extraction task without an attribute")
        task = LabelingTask(
            id=uuid.uuid4(),
            project_id=project_id,
            name=name,
            attribute_id=attribute_id,
            task_target=TaskTarget.ON_ATTRIBUTE if attribute_id else target,
            task_type=task_type,
        )
        session.add(task)
        tasks[old], types[old] = task.id, task_type
    session.flush()
    labels: dict[str, uuid.UUID] = {}
    label_task: dict[str, str] = {}
    per_task: dict[str, set[str]] = defaultdict(set)
    hotkeys: dict[str, set[str]] = defaultdict(set)
    for row in rows_of(data, "labeling_task_labels_data"):
        old = str(need(row, "id", "a label"))
        name = str(need(row, "name", f"label {old}"))
        task_ref = ref(row.get("labeling_task_id"))
        if task_ref not in tasks:
            raise SnapshotError(f"label {name!r} names an unknown labeling task {task_ref}")
        assert task_ref is not None
        if name in per_task[task_ref]:
            raise SnapshotError(f"label {name!r} appears twice in one labeling task")
        per_task[task_ref].add(name)
        hotkey = row.get("hotkey")
        hotkey = str(hotkey) if hotkey not in (None, "") and len(str(hotkey)) == 1 else None
        if hotkey is not None and hotkey in hotkeys[task_ref]:
            hotkey = None
        if hotkey is not None:
            hotkeys[task_ref].add(hotkey)
        color = str(row.get("color") or "").strip()
        label = Label(
            id=uuid.uuid4(),
            project_id=project_id,
            labeling_task_id=tasks[task_ref],
            name=name,
            color=color[:32] if re.fullmatch(r"#[0-9a-fA-F]{3,6}|[a-zA-Z]{1,30}", color) else "#4f46e5",
            hotkey=hotkey,
        )
        session.add(label)
        labels[old], label_task[old] = label.id, task_ref
    session.flush()
    return tasks, labels, label_task, types
