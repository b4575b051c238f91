"""Editing one record's values (the data browser's inline edit): validation, the review (old → new values and the
spans the edit invalidates) and the write, in one transaction.

The rules (docs/data-browser.md, "Editing a record"):

- Only uploaded attributes are edited; a calculated attribute's values come from its code (422).
- Types: TEXT and CATEGORY take a string, INTEGER an integer, FLOAT a number, BOOLEAN true or false; null clears a
  value, except in a primary-key attribute. EMBEDDING_LIST attributes are not edited here. A string holds at most
  ``upload_max_field_length`` characters, an edit at most :data:`EDIT_MAX_ATTRIBUTES` values.
- Primary key: the record's key after the edit must be no other record's key (409 naming that record).
- Spans: an extraction task on an edited text attribute keeps a span (manual or weak supervision) only where the new
  text's tokens in the span's token range are the words the span covered before; every other span of the task on the
  record is listed in the review and deleted in the edit's transaction (a manual one is recorded in the label history
  as changed by the editor). Classification labels stay; heuristics' votes, weak-supervision classifications and the
  record's embeddings are of the old text until their next run (the review says so).
- Tokens: the record's stored DocBin is deleted in the edit's transaction and the tokenizer service stores it anew
  right after (a record without one is tokenized on its next read and by the project's tokenize job).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from shared_model.models import Attribute, AttributeState, DataType, Label, LabelingTask, Record, RecordTokenized, User
from shared_model.models import RecordLabelAssociation as RLA
from shared_model.service import problem
from shared_model.settings import get_settings

from . import label_history, valid_labels
from .label_history import Via

EDIT_MAX_ATTRIBUTES = 500  # values one edit may set (as many as an upload's columns)
EDITABLE_STATES = (AttributeState.UPLOADED, AttributeState.AUTOMATICALLY_CREATED)
STALE_NOTE = (
    "heuristics' votes, weak-supervision classification labels, calculated attributes and embeddings of this record"
    " are of the old values until they run again"
)


@dataclass
class Change:
    attribute: str
    data_type: DataType
    old: Any
    new: Any


@dataclass
class EditPlan:
    """What an edit changes, validated against the record as it was read."""

    project_id: uuid.UUID
    record_id: int
    tokenizer: str
    changes: list[Change]
    # changed text attributes that an extraction task labels: name -> (old text, new text)
    span_texts: dict[str, tuple[str, str]] = field(default_factory=dict)


def _type_error(attribute: Attribute, value: Any) -> str | None:
    kind = attribute.data_type
    if value is None:
        return "a primary-key attribute needs a value" if attribute.is_primary_key else None
    if kind in (DataType.TEXT, DataType.CATEGORY):
        if not isinstance(value, str):
            return f"{kind} takes a string"
        limit = get_settings().upload_max_field_length
        if len(value) > limit:
            return f"{len(value)} characters, more than the {limit} allowed"
        if "\x00" in value:
            return "a NUL character cannot be stored"
        return None
    if kind == DataType.INTEGER:
        return None if isinstance(value, int) and not isinstance(value, bool) else "INTEGER takes an integer"
    if kind == DataType.FLOAT:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value == value and abs(value) != float("inf")
        return None if ok else "FLOAT takes a finite number"
    if kind == DataType.BOOLEAN:
        return None if isinstance(value, bool) else "BOOLEAN takes true or false"
    return f"{kind} attributes are not edited here"


def plan(session: Session, project_id: uuid.UUID, tokenizer: str, record_id: int, values: dict[str, Any]) -> EditPlan:
    """Validate ``values`` (attribute name -> new value) against the record; 404 for a record of another project,
    422 naming every attribute that is unknown, calculated or of the wrong type."""
    record = session.scalar(select(Record).where(Record.id == record_id, Record.project_id == project_id))
    if record is None:
        raise problem(404, f"record {record_id} does not exist in this project")
    if len(values) > EDIT_MAX_ATTRIBUTES:
        raise problem(422, f"values: {len(values)} attributes, at most {EDIT_MAX_ATTRIBUTES} per edit")
    attributes = {a.name: a for a in session.scalars(select(Attribute).where(Attribute.project_id == project_id))}
    problems: list[str] = []
    changes: list[Change] = []
    for name, value in values.items():
        attribute = attributes.get(name)
        if attribute is None:
            problems.append(f"{name!r} is not an attribute of this project")
            continue
        if attribute.user_created or attribute.state not in EDITABLE_STATES:
            problems.append(f"{name!r} is a calculated attribute; its values come from its code")
            continue
        error = _type_error(attribute, value)
        if error is not None:
            problems.append(f"{name!r}: {error}")
            continue
        old = record.data.get(name)
        if old != value or type(old) is not type(value):
            changes.append(Change(name, attribute.data_type, old, value))
    if problems:
        raise problem(422, "values: " + "; ".join(problems))
    result = EditPlan(project_id, record_id, tokenizer, changes)
    texts = {c.attribute: c for c in changes if c.data_type == DataType.TEXT}
    if texts:
        labeled = session.scalars(
            select(Attribute.name)
            .join(LabelingTask, LabelingTask.attribute_id == Attribute.id)
            .where(Attribute.project_id == project_id, Attribute.name.in_(list(texts)))
        )
        for name in set(labeled):
            change = texts[name]
            result.span_texts[name] = (_text(change.old), _text(change.new))
    return result


def _text(value: Any) -> str:
    return "" if value is None else value if isinstance(value, str) else str(value)


def _words(tokens: list[dict[str, Any]], start: int, end: int) -> list[str] | None:
    if start < 0 or end > len(tokens) or end <= start:
        return None
    return [str(token["text"]) for token in tokens[start:end]]


def _span_text(doc: dict[str, Any], start: int, end: int) -> str:
    tokens = doc["tokens"]
    if start < 0 or end > len(tokens) or end <= start:
        return ""
    return str(doc["text"])[int(tokens[start]["idx"]) : int(tokens[end - 1]["end"])]


@dataclass
class Outcome:
    changes: list[Change]
    removed: list[dict[str, Any]]
    kept_spans: int


def _spans(session: Session, plan_: EditPlan) -> list[tuple[RLA, str, str, str]]:
    """The spans of the record in tasks on the plan's edited text attributes: (row, attribute, task, label name)."""
    if not plan_.span_texts:
        return []
    rows = session.execute(
        select(RLA, Attribute.name, LabelingTask.name, Label.name)
        .join(LabelingTask, LabelingTask.id == RLA.labeling_task_id)
        .join(Attribute, Attribute.id == LabelingTask.attribute_id)
        .join(Label, Label.id == RLA.label_id)
        .where(
            RLA.record_id == plan_.record_id,
            RLA.project_id == plan_.project_id,
            RLA.token_start.is_not(None),
            Attribute.name.in_(list(plan_.span_texts)),
        )
        .order_by(LabelingTask.name, RLA.token_start, RLA.token_end, Label.name)
    ).all()
    return [(row[0], row[1], row[2], row[3]) for row in rows]


def span_record_has(session: Session, plan_: EditPlan) -> bool:
    """Whether the record has spans the edit must check (then the tokens are needed)."""
    return bool(_spans(session, plan_))


def _key_clash(session: Session, plan_: EditPlan, data: dict[str, Any]) -> None:
    names = list(
        session.scalars(select(Attribute.name).where(Attribute.project_id == plan_.project_id, Attribute.is_primary_key))
    )
    if not names or not any(c.attribute in names for c in plan_.changes):
        return
    # one key change of a project at a time, so that two edits cannot both take the same free key
    session.execute(text("SELECT pg_advisory_xact_lock(hashtext('record-key:' || :p))"), {"p": str(plan_.project_id)})
    conditions = " AND ".join(f"data -> :k{i} = CAST(:v{i} AS jsonb)" for i in range(len(names)))
    params: dict[str, Any] = {"p": plan_.project_id, "r": plan_.record_id}
    for i, name in enumerate(names):
        params[f"k{i}"] = name
        params[f"v{i}"] = json.dumps(data.get(name))
    other = session.scalar(
        text(f"SELECT id FROM record WHERE project_id = :p AND id <> :r AND {conditions} ORDER BY id LIMIT 1"), params
    )
    if other is not None:
        key = ", ".join(f"{name}={data.get(name)!r}" for name in names)
        raise problem(409, f"the primary key {key} is record {other}'s already; a key names one record")


def apply(
    session: Session,
    plan_: EditPlan,
    old_docs: dict[str, dict[str, Any]],
    new_tokens: dict[str, list[dict[str, Any]]],
    user: User,
    via: Via,
    *,
    write: bool,
) -> Outcome:
    """Check the plan against the locked record and, with ``write``, store it: the new values, the invalidated spans
    deleted (history, valid labels), the DocBin deleted. ``old_docs``/``new_tokens``: the tokens of the edited text
    attributes before and after (by the tokenizer service). 409 when the record changed since it was read."""
    valid_labels.lock_records(session, [plan_.record_id])
    record = session.get(Record, plan_.record_id, populate_existing=True)
    if record is None:
        raise problem(404, f"record {plan_.record_id} does not exist in this project")
    moved = [c.attribute for c in plan_.changes if record.data.get(c.attribute) != c.old]
    if moved:
        raise problem(409, f"record {plan_.record_id} changed meanwhile ({', '.join(moved)}); review the edit again")
    data = dict(record.data)
    for change in plan_.changes:
        data[change.attribute] = change.new
    _key_clash(session, plan_, data)
    removed: list[tuple[RLA, dict[str, Any]]] = []
    kept = 0
    for row, attribute, task_name, label_name in _spans(session, plan_):
        start, end = int(row.token_start or 0), int(row.token_end or 0)
        old_doc = old_docs.get(attribute, {"text": "", "tokens": []})
        before = _words(old_doc["tokens"], start, end)
        after = _words(new_tokens.get(attribute, []), start, end)
        if before is not None and before == after:
            kept += 1
            continue
        removed.append(
            (
                row,
                {
                    "id": row.id,
                    "labeling_task_id": row.labeling_task_id,
                    "task": task_name,
                    "attribute": attribute,
                    "label_id": row.label_id,
                    "label": label_name,
                    "source_type": row.source_type.value,
                    "created_by": row.created_by,
                    "token_start": start,
                    "token_end": end,
                    "text": _span_text(old_doc, start, end),
                },
            )
        )
    outcome = Outcome(plan_.changes, [entry for _, entry in removed], kept)
    if not write or not plan_.changes:
        return outcome
    record.data = data
    manual: dict[tuple[uuid.UUID, uuid.UUID | None], list[RLA]] = {}
    for row, _ in removed:
        if row.source_type.value == "MANUAL":
            manual.setdefault((row.labeling_task_id, row.created_by), []).append(row)
    befores = {key: label_history.current_labels(session, key[0], key[1], [plan_.record_id]) for key in manual}
    if removed:
        session.execute(delete(RLA).where(RLA.id.in_([row.id for row, _ in removed])))
        session.flush()
    for (task_id, annotator), _rows in manual.items():
        task = session.get(LabelingTask, task_id)
        assert task is not None
        now = label_history.current_labels(session, task_id, annotator, [plan_.record_id])
        label_history.record(session, task, annotator, user.id, via, befores[(task_id, annotator)], now, [plan_.record_id])
    for task_id in {row.labeling_task_id for row, _ in removed}:
        valid_labels.recompute(session, task_id, [plan_.record_id])
    if any(c.data_type == DataType.TEXT for c in plan_.changes):
        session.execute(delete(RecordTokenized).where(RecordTokenized.record_id == plan_.record_id))
    session.flush()
    return outcome
