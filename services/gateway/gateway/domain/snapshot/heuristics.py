"""A snapshot's knowledge bases (as lookup lists with their terms) and information sources (as heuristics)."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from shared_model.models import (
    HeuristicType,
    InformationSource,
    Label,
    LabelingTask,
    LookupList,
    TaskType,
    Term,
)

from ..lookup_lists import MAX_TERM_LENGTH, python_name
from .reading import SnapshotError
from .rows import UniqueNames, need, ref, rows_of

CODE_TYPES = (HeuristicType.LABELING_FUNCTION, HeuristicType.ACTIVE_LEARNING, HeuristicType.PRE_COMPUTED)


def import_lookup_lists(
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
    for row in rows_of(data, "knowledge_bases_data"):
        old = str(need(row, "id", "a knowledge base"))
        name = str(need(row, "name", f"knowledge base {old}")).strip()
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
    for row in rows_of(data, "terms_data"):
        list_ref = ref(row.get("knowledge_base_id"))
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


def import_heuristics(
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
    unique = UniqueNames("heuristic", notes)
    for row in rows_of(data, "information_sources_data"):
        old = str(need(row, "id", "an information source"))
        name = str(need(row, "name", f"information source {old}")).strip()[:200]
        raw_type = str(row.get("type") or "")
        task_ref = ref(row.get("labeling_task_id"))
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
            parsed = zero_shot_config(code)
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


def zero_shot_config(code: str) -> dict[str, Any] | None:
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
