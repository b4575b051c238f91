"""Import of the original refinery's "project export" snapshot (a zip holding one JSON file) as a new project.

The file is checked when it arrives (:func:`read_snapshot`: zip or JSON, one JSON inside, the required keys); the
``snapshot_import`` job then writes the whole project in ONE transaction (:func:`import_snapshot`), so a content
problem (an association naming an unknown record or label, say) leaves nothing behind. Every id is remapped: new
UUIDs, and records get our bigint ids. Embeddings, weak-supervision results, comments and statistics are skipped
(and listed in the job's result); data slices in this installation's filter format come back (:mod:`.snapshot_slices`),
others are listed as skipped.
"""

from __future__ import annotations

import json
import re
import uuid
import zipfile
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from psycopg2.extras import execute_values
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from shared_model import heuristic_results
from shared_model.jobs import enqueue
from shared_model.models import (
    Attribute,
    AttributeState,
    DataType,
    HeuristicType,
    InformationSource,
    Label,
    LabelingTask,
    LookupList,
    Project,
    ProjectMember,
    ReturnType,
    SourceType,
    TaskTarget,
    TaskType,
    Term,
    UserRole,
)
from shared_model.service import ProblemError
from shared_model.service.input_checks import depth_problem, find_problem, max_json_depth

from ..clients import ServiceClient
from . import valid_labels
from .lookup_lists import MAX_TERM_LENGTH, python_name
from .snapshot_slices import import_slices

REQUIRED_KEYS = ("project_details_data", "records_data", "attributes_data")
LIST_KEYS = (
    "records_data",
    "attributes_data",
    "labeling_tasks_data",
    "labeling_task_labels_data",
    "information_sources_data",
    "record_label_associations_data",
    "record_label_association_tokens_data",
    "knowledge_bases_data",
    "terms_data",
)
SKIPPED_KEYS = {
    "embeddings_data": "embeddings (recompute them in the project)",
    "embedding_tensors_data": "embedding tensors",
    "information_source_payloads_data": "heuristic run history",
    "information_source_statistics_data": "heuristic statistics (recomputed by the next run)",
    "record_attribute_token_statistics_data": "token statistics (recomputed by tokenization)",
    "weak_supervision_task_data": "weak-supervision runs",
    "comments": "comments",
}
CODE_TYPES = (HeuristicType.LABELING_FUNCTION, HeuristicType.ACTIVE_LEARNING, HeuristicType.PRE_COMPUTED)
DEFAULT_TOKENIZER = "en"
DEFAULT_NAME = "imported project"
_PIPELINE_PACKAGE = re.compile(r"^([a-z]{2,3})_\w+$")

Progress = Callable[[float, str], None]


class SnapshotError(Exception):
    """A snapshot that cannot be imported; ``detail`` names what is wrong."""

    def __init__(self, detail: str, status: int = 422) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status


# Parsing holds the JSON several times over in memory (text, then objects): a snapshot's JSON is limited on its own,
# well below the upload limit, so that a small zip cannot unpack into gigabytes.
MAX_JSON_BYTES = 256 * 1024 * 1024


def _snapshot_json(path: Path, filename: str, max_bytes: int, prefix: int | None = None) -> tuple[bytes, str, bool]:
    """The snapshot's JSON bytes (at most ``prefix`` of them when given), where they come from, and whether that is
    all of them. 415/422/413 as :func:`read_snapshot`."""
    max_bytes = min(max_bytes, MAX_JSON_BYTES)
    want = max_bytes + 1 if prefix is None else min(prefix, max_bytes + 1)
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as archive:
                members = [
                    m
                    for m in archive.infolist()
                    if not m.is_dir() and m.filename.lower().endswith(".json") and not m.filename.startswith("__MACOSX/")
                ]
                if not members:
                    names = ", ".join(m.filename for m in archive.infolist()[:5]) or "nothing"
                    raise SnapshotError(f"{filename}: the zip holds no .json file (it holds {names})")
                if len(members) > 1:
                    names = ", ".join(m.filename for m in members[:5])
                    raise SnapshotError(f"{filename}: the zip holds {len(members)} .json files ({names}); a snapshot has one")
                member = members[0]
                if member.file_size > max_bytes:
                    raise SnapshotError(
                        f"{filename}: {member.filename} unpacks to {member.file_size} bytes, over the limit of {max_bytes}", 413
                    )
                with archive.open(member) as handle:  # the header's size may lie: never read past the limit
                    raw = handle.read(want)
                    complete = len(raw) < want or not handle.read(1)
                if len(raw) > max_bytes:
                    raise SnapshotError(f"{filename}: {member.filename} unpacks to more than the limit of {max_bytes} bytes", 413)
                inner = f"{filename}/{member.filename}"
        except zipfile.BadZipFile as exc:
            raise SnapshotError(f"{filename}: a broken zip archive ({exc})", 400) from None
        except (RuntimeError, NotImplementedError) as exc:  # encrypted, or a compression method Python cannot read
            raise SnapshotError(f"{filename}: the zip cannot be read ({exc}); zip it again without a password") from None
    else:
        size = path.stat().st_size
        if size > max_bytes:
            raise SnapshotError(f"{filename} is larger than the limit of {max_bytes} bytes for a snapshot's JSON", 413)
        with path.open("rb") as handle:
            raw = handle.read(want)
        complete = len(raw) >= size
        inner = filename
        stripped = raw.lstrip()[:1]
        if stripped not in (b"{", b"["):
            raise SnapshotError(f"{filename} is neither a zip archive nor a JSON file; upload the project export (.zip)", 415)
    return raw, inner, complete


def read_snapshot(path: Path, filename: str, max_bytes: int) -> dict[str, Any]:
    """The snapshot's JSON object from a zip holding one ``.json`` file, or from the JSON file itself.

    415 for a file that is neither; 422 for a zip without (or with several) JSON files, invalid JSON or missing keys;
    413 for JSON over :data:`MAX_JSON_BYTES` (or ``max_bytes``, when lower).
    """
    raw, inner, _ = _snapshot_json(path, filename, max_bytes)
    return _parse(raw, inner)


def _parse(raw: bytes, inner: str) -> dict[str, Any]:
    """The snapshot's JSON object, checked (422 naming what is wrong)."""
    try:
        data = json.loads(raw, parse_constant=_no_constant)
    except ValueError as exc:  # invalid JSON, bad UTF-8, NaN or Infinity
        raise SnapshotError(f"{inner} is not valid JSON: {exc}") from None
    except RecursionError:
        raise SnapshotError(f"{inner}: the JSON {depth_problem(max_json_depth())}") from None
    found = find_problem(data, row_ids=True)  # NUL, lone surrogates, too deep: refused naming the row and field
    if found is not None:
        raise SnapshotError(f"{inner}: {found[0]} {found[1]}")
    check_shape(data, inner)
    snapshot: dict[str, Any] = data
    return snapshot


async def unavailable_tokenizer(tokenizer: str) -> str | None:
    """A note when the tokenizer service does not know ``tokenizer`` (the project then uses the default), else None."""
    if tokenizer == DEFAULT_TOKENIZER:
        return None
    try:
        await ServiceClient("tokenizer").json("POST", "/validate_tokenizer", json={"tokenizer": tokenizer})
    except ProblemError as exc:
        if exc.status != 422:
            raise
        return f"tokenizer {tokenizer!r} is not available here ({exc.detail}); the project uses {DEFAULT_TOKENIZER!r}"
    return None


MISSING_PIPELINE = "missing_pipeline"  # project.settings key: the snapshot's spaCy pipeline that is not installed here


def pipeline_warning(package: str, used: str) -> str:
    """What a project whose requested spaCy pipeline is not installed shows, with the command that installs it."""
    return (
        f"spaCy pipeline {package!r} is not installed here: records are tokenized with the blank {used!r} pipeline (the"
        " same tokenization rules, but no part-of-speech tags, lemmas or entities: labeling functions that use them find"
        f" nothing). Install it where the tokenizer service runs: `.venv/bin/python -m spacy download {package}`, restart"
        f' the tokenizer, then PUT /api/v1/projects/{{project_id}}/tokenizer {{"tokenizer": "{package}"}}'
    )


@dataclass(frozen=True)
class TokenizerChoice:
    """The tokenizer a snapshot's project gets: ``tokenizer``; ``note`` why it differs from the snapshot's, and
    ``missing_pipeline`` the snapshot's spaCy pipeline package when it is not installed here."""

    tokenizer: str
    note: str | None = None
    missing_pipeline: str | None = None


async def choose_tokenizer(value: Any) -> TokenizerChoice:
    """The snapshot's tokenizer when the tokenizer service has it; an uninstalled pipeline package falls back to the
    blank pipeline of its language (with a warning naming the install command), an unknown name to the default."""
    name = str(value or "").strip() or DEFAULT_TOKENIZER
    match = _PIPELINE_PACKAGE.match(name)
    if match:
        if await unavailable_tokenizer(name) is None:
            return TokenizerChoice(name)
        return TokenizerChoice(match.group(1), pipeline_warning(name, match.group(1)), name)
    note = await unavailable_tokenizer(name)
    return TokenizerChoice(DEFAULT_TOKENIZER, note) if note else TokenizerChoice(name)


PEEK_BYTES = 32 << 20  # JSON up to this size is checked in full at once (≈ 0.3 s); a bigger one by the job
_DETAILS = re.compile(rb'"project_details_data"\s*:\s*')


def peek_snapshot(path: Path, filename: str, max_bytes: int) -> tuple[bool, Any]:
    """What the upload request checks before it queues the import: the archive, the limits and, for a snapshot of up
    to :data:`PEEK_BYTES` of JSON, everything :func:`read_snapshot` checks. A bigger one is parsed once, by the job:
    here only its start is read. Returns (whether the tokenizer was found, the snapshot's tokenizer value)."""
    raw, inner, complete = _snapshot_json(path, filename, max_bytes, prefix=PEEK_BYTES)
    if complete:
        return True, _parse(raw, inner)["project_details_data"].get("tokenizer")
    if raw.lstrip()[:1] != b"{":
        raise SnapshotError(f"{inner}: a project snapshot is a JSON object")
    found = _DETAILS.search(raw)  # the original writes the project's details first
    if found is not None:
        try:
            details, _ = json.JSONDecoder().raw_decode(raw[found.end() :].decode("utf-8", "ignore"))
        except ValueError:
            details = None
        if isinstance(details, dict):
            return True, details.get("tokenizer")
    return False, None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def check_shape(data: Any, where: str) -> None:
    """422 unless ``data`` is an object with the required keys and lists where lists belong."""
    if not isinstance(data, dict):
        raise SnapshotError(f"{where}: a project snapshot is a JSON object, not {type(data).__name__}")
    missing = [key for key in REQUIRED_KEYS if key not in data]
    if missing:
        raise SnapshotError(f"{where} is not a project snapshot: missing {', '.join(missing)}")
    if not isinstance(data["project_details_data"], dict):
        raise SnapshotError(f"{where}: project_details_data must be an object")
    for key in LIST_KEYS:
        value = data.get(key)
        if value is not None and not (isinstance(value, list) and all(isinstance(item, dict) for item in value)):
            raise SnapshotError(f"{where}: {key} must be a list of objects")


def _rows(data: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = data.get(key)
    return value if isinstance(value, list) else []


def _ref(value: Any) -> str | None:
    """An id as the export writes it (``"None"`` for none)."""
    if value is None or value == "None" or value == "":
        return None
    return str(value)


def _need(row: dict[str, Any], key: str, what: str) -> Any:
    if row.get(key) in (None, ""):
        raise SnapshotError(f"{what} has no {key}")
    return row[key]


def _enum(enum_cls: Any, value: Any, what: str) -> Any:
    try:
        return enum_cls(str(value))
    except ValueError:
        allowed = ", ".join(m.value for m in enum_cls)
        raise SnapshotError(f"{what}: unknown {enum_cls.__name__} {value!r} (one of {allowed})") from None


def tokenizer_for(value: Any, notes: list[str]) -> str:
    """Our tokenizer setting for the snapshot's: a spaCy pipeline package becomes its language code (same rules)."""
    name = str(value or "").strip() or DEFAULT_TOKENIZER
    match = _PIPELINE_PACKAGE.match(name)
    if match:
        notes.append(f"tokenizer {name!r} imported as {match.group(1)!r} (the same tokenization rules)")
        return match.group(1)
    return name


class _Unique:
    """Names made unique within a project (``name``, ``name (2)``, …), noting each rename."""

    def __init__(self, what: str, notes: list[str]) -> None:
        self.what, self.notes, self.seen = what, notes, set[str]()

    def __call__(self, name: str) -> str:
        candidate, n = name, 1
        while candidate in self.seen:
            n += 1
            candidate = f"{name} ({n})"
        if candidate != name:
            self.notes.append(f"{self.what} {name!r} renamed to {candidate!r} (duplicate name)")
        self.seen.add(candidate)
        return candidate


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
        session.add(ProjectMember(project_id=project.id, user_id=user_id, role=UserRole.ENGINEER))
    progress(0.05, "attributes")
    attribute_ids, attribute_types = _attributes(session, project.id, data, notes)
    progress(0.1, "records")
    record_ids = _records(session, project.id, data, attribute_types)
    progress(0.5, "labeling tasks")
    task_ids, label_ids, label_task, task_types = _tasks(session, project.id, data, attribute_ids)
    lists, terms = _lookup_lists(session, project.id, data, label_ids)
    progress(0.6, "heuristics")
    source_ids, skipped_sources = _heuristics(session, project.id, data, task_ids, user_id, notes, embedding_models)
    progress(0.7, "labels")
    association_counts = _associations(
        session, project.id, data, record_ids, label_ids, label_task, task_ids, task_types, source_ids, skipped_sources, user_id
    )
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
    categories = Counter(str(r.get("category") or "SCALE") for r in _rows(data, "records_data"))
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
        "data_slices": slices,
        "data_slice_records": slice_records,
        "skipped": skipped,
        "notes": notes,
    }


def _attributes(
    session: Session, project_id: uuid.UUID, data: dict[str, Any], notes: list[str]
) -> tuple[dict[str, uuid.UUID], dict[str, DataType]]:
    """Create the attributes in column order; returns old id -> new id, and name -> data type as imported."""
    rows = sorted(_rows(data, "attributes_data"), key=lambda a: (int(a.get("relative_position") or 0), str(a.get("name"))))
    if not rows:
        raise SnapshotError("the snapshot has no attributes")
    ids: dict[str, uuid.UUID] = {}
    types: dict[str, DataType] = {}
    seen: set[str] = set()
    for position, row in enumerate(rows, start=1):
        name = str(_need(row, "name", "an attribute"))
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
        computed = calculated and any(name in (r.get("data") or {}) for r in _rows(data, "records_data"))
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
    rows = _rows(data, "records_data")
    keys = [str(a["name"]) for a in _rows(data, "attributes_data") if a.get("is_primary_key") and a.get("name")]
    cursor = session.connection().connection.cursor()
    cursor.execute("SELECT nextval(pg_get_serial_sequence('record', 'id')) FROM generate_series(1, %s)", (len(rows),))
    new_ids = [row[0] for row in cursor.fetchall()]
    mapping: dict[str, int] = {}
    seen_keys: dict[tuple[Any, ...], str] = {}
    values = []
    for row, new_id in zip(rows, new_ids, strict=True):
        old = str(_need(row, "id", "a record"))
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
    for row in _rows(data, "labeling_tasks_data"):
        old = str(_need(row, "id", "a labeling task"))
        name = str(_need(row, "name", f"labeling task {old}"))
        what = f"labeling task {name!r}"
        if name in names:
            raise SnapshotError(f"{what} appears twice")
        names.add(name)
        target = _enum(TaskTarget, row.get("task_target") or "ON_WHOLE_RECORD", what)
        task_type = _enum(TaskType, _need(row, "task_type", what), what)
        attribute_ref = _ref(row.get("attribute_id"))
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
    for row in _rows(data, "labeling_task_labels_data"):
        old = str(_need(row, "id", "a label"))
        name = str(_need(row, "name", f"label {old}"))
        task_ref = _ref(row.get("labeling_task_id"))
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


def _lookup_lists(
    session: Session, project_id: uuid.UUID, data: dict[str, Any], label_ids: dict[str, uuid.UUID]
) -> tuple[int, int]:
    """Knowledge bases as lookup lists (linked to the extraction label of the same name) with their terms."""
    extraction_labels = {
        name: label_id
        for label_id, name in session.execute(
            select(Label.id, Label.name)
            .join(LabelingTask, LabelingTask.id == Label.labeling_task_id)
            .where(Label.project_id == project_id, LabelingTask.task_type == TaskType.INFORMATION_EXTRACTION)
        )
    }
    lists: dict[str, uuid.UUID] = {}
    names: set[str] = set()
    python_names: set[str] = set()
    linked: set[uuid.UUID] = set()
    for row in _rows(data, "knowledge_bases_data"):
        old = str(_need(row, "id", "a knowledge base"))
        name = str(_need(row, "name", f"knowledge base {old}")).strip()
        if name in names:
            raise SnapshotError(f"knowledge base {name!r} appears twice")
        derived = python_name(name)
        if not derived:
            raise SnapshotError(f"knowledge base {name!r} has no letters, digits or '_' to form a Python name")
        if derived in python_names:
            raise SnapshotError(f"knowledge bases {name!r} and another one share the Python name {derived!r}")
        names.add(name)
        python_names.add(derived)
        label_id = extraction_labels.get(name)
        if label_id in linked:
            label_id = None
        if label_id is not None:
            linked.add(label_id)
        lookup = LookupList(
            id=uuid.uuid4(),
            project_id=project_id,
            name=name,
            python_name=derived,
            description=str(row.get("description") or ""),
            label_id=label_id,
        )
        session.add(lookup)
        lists[old] = lookup.id
    session.flush()
    terms: dict[tuple[uuid.UUID, str], dict[str, Any]] = {}
    for row in _rows(data, "terms_data"):
        list_ref = _ref(row.get("knowledge_base_id"))
        value = str(row.get("value") or "").strip()
        if list_ref not in lists:
            raise SnapshotError(f"term {value!r} names an unknown knowledge base {list_ref}")
        if not value:
            continue
        if len(value) > MAX_TERM_LENGTH:
            raise SnapshotError(f"term {value[:40]!r}… is longer than {MAX_TERM_LENGTH} characters")
        assert list_ref is not None
        key = (lists[list_ref], value)
        previous = terms.get(key)
        blacklisted = bool(row.get("blacklisted")) or bool(previous and previous["blacklisted"])
        comment = row.get("comment") if row.get("comment") is not None else (previous or {}).get("comment")
        terms[key] = {
            "id": uuid.uuid4(),
            "lookup_list_id": key[0],
            "value": value,
            "comment": comment,
            "blacklisted": blacklisted,
        }
    if terms:
        session.execute(insert(Term), list(terms.values()))
    return len(lists), len(terms)


def _heuristics(
    session: Session,
    project_id: uuid.UUID,
    data: dict[str, Any],
    task_ids: dict[str, uuid.UUID],
    user_id: uuid.UUID | None,
    notes: list[str],
    embedding_models: list[str] | None = None,
) -> tuple[dict[str, uuid.UUID], dict[str, tuple[str, str]]]:
    """Information sources as heuristics; returns (old id -> new id, old id -> (name, why skipped))."""
    sources: dict[str, uuid.UUID] = {}
    skipped: dict[str, tuple[str, str]] = {}
    unique = _Unique("heuristic", notes)
    for row in _rows(data, "information_sources_data"):
        old = str(_need(row, "id", "an information source"))
        name = str(_need(row, "name", f"information source {old}")).strip()[:200]
        raw_type = str(row.get("type") or "")
        task_ref = _ref(row.get("labeling_task_id"))
        if task_ref not in task_ids:
            raise SnapshotError(f"heuristic {name!r} names an unknown labeling task {task_ref}")
        assert task_ref is not None
        try:
            kind = HeuristicType(raw_type)
        except ValueError:
            skipped[old] = (name, f"type {raw_type or 'missing'} is unknown")
            continue
        config: dict[str, Any] = {}
        code = str(row.get("source_code") or "")
        if kind == HeuristicType.ZERO_SHOT:
            parsed = _zero_shot_config(code)
            if parsed is None:
                skipped[old] = (name, "a zero-shot heuristic whose configuration cannot be read")
                continue
            config, code = parsed, ""
        elif kind not in CODE_TYPES:
            skipped[old] = (name, f"{kind.value} heuristics are not imported")
            continue
        if kind == HeuristicType.ACTIVE_LEARNING:
            embedding = re.search(r"embedding_name\s*=\s*[\"']([^\"']+)[\"']", code)
            if embedding:
                notes.append(learner_embedding_note(name, embedding.group(1), embedding_models))
        source = InformationSource(
            id=uuid.uuid4(),
            project_id=project_id,
            labeling_task_id=task_ids[task_ref],
            type=kind,
            name=unique(name),
            description=str(row.get("description") or ""),
            source_code=code,
            config=config,
            is_selected=bool(row.get("is_selected", True)),
            created_by=user_id,
        )
        session.add(source)
        sources[old] = source.id
    session.flush()
    return sources, skipped


def learner_embedding_note(learner: str, embedding: str, models: list[str] | None) -> str:
    """What a user must do before an imported active learner can run: embeddings are not imported, and only a model
    this installation offers (``models``; None: unknown) is ever suggested."""
    head = f"active learner {learner!r} needs the embedding {embedding!r}, which is not imported"
    match = re.fullmatch(r"(.+)-(classification|extraction)-(.+)", embedding)
    if match is None:
        return f"{head}: create an embedding and set the learner's embedding_name to its name before running it"
    attribute, kind, model = match.groups()
    granularity = "attribute-level (ON_ATTRIBUTE)" if kind == "classification" else "token-level (ON_TOKEN)"
    if models is None:
        return (
            f"{head}: create a {granularity} embedding of attribute {attribute!r} with a model the embedder offers"
            " (GET /api/v1/embedding-models) and set the learner's embedding_name to its name before running it"
        )
    if model in models:
        return f"{head}: create the {granularity} embedding of attribute {attribute!r} with model {model!r} before running it"
    return (
        f"{head}; its model {model!r} is not available in this installation: create a {granularity} embedding of"
        f" attribute {attribute!r} with one of {', '.join(repr(m) for m in models)} and set the learner's"
        " embedding_name to that embedding's name before running it"
    )


def _zero_shot_config(code: str) -> dict[str, Any] | None:
    """Our zero-shot config from the original's (a JSON object in ``source_code``); None if it cannot be read."""
    try:
        raw = json.loads(code)
    except json.JSONDecodeError:
        return None
    if not isinstance(raw, dict):
        return None
    model = raw.get("model") or raw.get("config")
    attribute = raw.get("attribute") or raw.get("attribute_name")
    if not isinstance(model, str) or not isinstance(attribute, str):
        return None
    min_confidence = raw.get("min_confidence", raw.get("minConfidence"))
    excluded = raw.get("excluded_labels", raw.get("excludedLabels")) or []
    return {
        "attribute": attribute,
        "model": model,
        "min_confidence": float(min_confidence) if isinstance(min_confidence, int | float) else None,
        "excluded_labels": [str(x) for x in excluded] if isinstance(excluded, list) else [],
        "label_descriptions": {},
    }


def _associations(
    session: Session,
    project_id: uuid.UUID,
    data: dict[str, Any],
    record_ids: dict[str, int],
    label_ids: dict[str, uuid.UUID],
    label_task: dict[str, str],
    task_ids: dict[str, uuid.UUID],
    task_types: dict[str, TaskType],
    source_ids: dict[str, uuid.UUID],
    skipped_sources: dict[str, tuple[str, str]],
    user_id: uuid.UUID | None,
) -> dict[str, Any]:
    """Manual and heuristic labels (classification and spans); weak-supervision and model-callback ones are skipped."""
    tokens: dict[str, list[int]] = defaultdict(list)
    for row in _rows(data, "record_label_association_tokens_data"):
        index = row.get("token_index")
        if not isinstance(index, int) or index < 0:
            raise SnapshotError(f"a span token of association {row.get('record_label_association_id')} has no valid token_index")
        tokens[str(row.get("record_label_association_id"))].append(index)
    rows: list[tuple[Any, ...]] = []
    manual_seen: dict[tuple[Any, ...], int] = {}
    skipped: Counter[str] = Counter()
    counts = {"manual": 0, "heuristic": 0}
    manual_records: dict[uuid.UUID, set[int]] = defaultdict(set)
    heuristic_votes: dict[uuid.UUID, heuristic_results.ResultBuffer] = {}
    session.flush()
    source_tasks: dict[uuid.UUID, uuid.UUID] = dict(
        session.execute(
            select(InformationSource.id, InformationSource.labeling_task_id).where(InformationSource.project_id == project_id)
        )
        .tuples()
        .all()
    )
    ordered = sorted(  # the valid (gold-starred first) manual label of a record wins where one must be dropped
        _rows(data, "record_label_associations_data"),
        key=lambda r: (not r.get("is_gold_star"), not r.get("is_valid_manual_label")),
    )
    for row in ordered:
        old = str(row.get("id"))
        source_type = _enum(SourceType, row.get("source_type"), f"label association {old}")
        if source_type in (SourceType.WEAK_SUPERVISION, SourceType.MODEL_CALLBACK):
            skipped[f"{source_type.value.lower()}_labels"] += 1
            continue
        source_id = None
        if source_type == SourceType.INFORMATION_SOURCE:
            source_ref = _ref(row.get("source_id"))
            if source_ref in skipped_sources:
                skipped["labels_of_skipped_heuristics"] += 1
                continue
            if source_ref not in source_ids:
                raise SnapshotError(f"label association {old} names an unknown heuristic {source_ref}")
            assert source_ref is not None
            source_id = source_ids[source_ref]
        record_ref = _ref(row.get("record_id"))
        label_ref = _ref(row.get("labeling_task_label_id"))
        if record_ref not in record_ids:
            raise SnapshotError(f"label association {old} names an unknown record {record_ref}")
        if label_ref not in label_ids:
            raise SnapshotError(f"label association {old} names an unknown label {label_ref}")
        assert record_ref is not None and label_ref is not None
        record_id = record_ids[record_ref]
        old_task = label_task[label_ref]
        task_id = task_ids[old_task]
        start = end = None
        if task_types[old_task] == TaskType.INFORMATION_EXTRACTION:
            indexes = sorted(set(tokens.get(old, [])))
            if not indexes:
                raise SnapshotError(f"span association {old} (record {record_ref}) has no tokens")
            if indexes != list(range(indexes[0], indexes[-1] + 1)):
                raise SnapshotError(f"span association {old} has non-contiguous tokens {indexes}")
            start, end = indexes[0], indexes[-1] + 1
        if source_type == SourceType.MANUAL:  # every annotator becomes the importing user
            if task_types[old_task] == TaskType.MULTICLASS_CLASSIFICATION:  # one class per record (the valid one first)
                key: tuple[Any, ...] = (record_id, old_task)
                reason = "conflicting_manual_labels"
            else:  # annotators' identical labels (or spans) become one
                key, reason = (record_id, label_ref, start, end), "duplicate_manual_labels"
            if key in manual_seen:
                skipped[reason] += 1
                continue
            manual_seen[key] = 1
        confidence = row.get("confidence")
        if isinstance(confidence, int | float) and not (0.0 <= float(confidence) <= 1.0):  # NaN fails too
            raise SnapshotError(f"label association {old} has confidence {confidence!r}, not a number from 0 to 1")
        if source_id is not None:  # a heuristic's vote: kept in heuristic_result, not as a row
            if source_tasks[source_id] != task_id:
                raise SnapshotError(f"label association {old}: its heuristic and its label belong to different labeling tasks")
            votes = heuristic_votes.setdefault(source_id, heuristic_results.ResultBuffer())
            weight = float(confidence) if isinstance(confidence, int | float) else None
            votes.add(record_id, label_ids[label_ref], start, end, weight)
            counts["heuristic"] += 1
            continue
        rows.append(  # a manual label
            (
                uuid.uuid4(),
                project_id,
                record_id,
                task_id,
                label_ids[label_ref],
                source_type.value,
                None,
                (ReturnType.YIELD if start is not None else ReturnType.RETURN).value,
                float(confidence) if isinstance(confidence, int | float) else 1.0,
                user_id,
                bool(row.get("is_gold_star")),
                start,
                end,
            )
        )
        counts["manual"] += 1
        manual_records[task_id].add(record_id)
    for source_id, votes in heuristic_votes.items():
        heuristic_results.store_session_results(session, project_id, source_tasks[source_id], source_id, votes)
    if rows:
        cursor = session.connection().connection.cursor()
        execute_values(
            cursor,
            "INSERT INTO record_label_association (id, project_id, record_id, labeling_task_id, label_id, source_type,"
            " source_id, return_type, confidence, created_by, is_gold_star, token_start, token_end, is_valid_manual_label,"
            " created_at) VALUES %s",
            [tuple(str(v) if isinstance(v, uuid.UUID) else v for v in r) for r in rows],
            template="(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, false, now())",
            page_size=2000,
        )
    for task_id, records in manual_records.items():
        valid_labels.recompute(session, task_id, records)
    return {**counts, "skipped": dict(skipped)}
