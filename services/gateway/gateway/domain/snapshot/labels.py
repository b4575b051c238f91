"""A snapshot's label associations: manual labels as rows, heuristics' votes into heuristic_result, weak-supervision
labels as each task's current weak-supervision version (:mod:`.weak_labels`); model-callback labels are skipped."""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from psycopg2.extras import execute_values
from sqlalchemy import select
from sqlalchemy.orm import Session

from shared_model import heuristic_results
from shared_model.models import (
    InformationSource,
    ReturnType,
    SourceType,
    TaskType,
)

from .. import label_history, valid_labels
from .reading import SnapshotError
from .rows import enum_value, ref, rows_of
from .weak_labels import WeakLabel, weak_labels


@dataclass
class Mappings:
    """Old snapshot ids -> what the import created: records, labels (and their old task), tasks, heuristics."""

    record_ids: dict[str, int]
    label_ids: dict[str, uuid.UUID]
    label_task: dict[str, str]
    task_ids: dict[str, uuid.UUID]
    task_types: dict[str, TaskType]
    source_ids: dict[str, uuid.UUID]
    skipped_sources: dict[str, tuple[str, str]]


@dataclass
class _Association:
    """One association row, resolved: its record, task and label (new ids), span, confidence and heuristic."""

    old: str
    record_id: int
    old_task: str
    task_id: uuid.UUID
    label_ref: str
    label_id: uuid.UUID
    start: int | None
    end: int | None
    confidence: float | None
    source_id: uuid.UUID | None


class _Importer:
    def __init__(self, session: Session, project_id: uuid.UUID, data: dict[str, Any], ids: Mappings) -> None:
        self.session, self.project_id, self.ids = session, project_id, ids
        self.tokens = _span_tokens(data)
        self.rows: list[tuple[Any, ...]] = []
        self.manual_seen: set[tuple[Any, ...]] = set()
        self.skipped: Counter[str] = Counter()
        self.counts = {"manual": 0, "heuristic": 0, "weak_supervision": 0}
        self.weak = weak_labels(data)
        self.manual_records: dict[uuid.UUID, set[int]] = defaultdict(set)
        self.votes: dict[uuid.UUID, heuristic_results.ResultBuffer] = {}
        session.flush()
        self.source_tasks: dict[uuid.UUID, uuid.UUID] = dict(
            session.execute(
                select(InformationSource.id, InformationSource.labeling_task_id).where(InformationSource.project_id == project_id)
            )
            .tuples()
            .all()
        )

    def add(self, row: dict[str, Any], user_id: uuid.UUID | None) -> None:
        old = str(row.get("id"))
        source_type = enum_value(SourceType, row.get("source_type"), f"label association {old}")
        if source_type == SourceType.MODEL_CALLBACK:
            self.skipped[f"{source_type.value.lower()}_labels"] += 1
            return
        if source_type == SourceType.WEAK_SUPERVISION:
            found = self._resolve(old, row, None)
            label = WeakLabel(found.record_id, found.label_id, found.start, found.end, found.confidence)
            self.weak.add(found.task_id, ref(row.get("weak_supervision_id")), label)
            return
        source_id = None
        if source_type == SourceType.INFORMATION_SOURCE:
            source_ref = ref(row.get("source_id"))
            if source_ref in self.ids.skipped_sources:
                self.skipped["labels_of_skipped_heuristics"] += 1
                return
            if source_ref is None or source_ref not in self.ids.source_ids:
                raise SnapshotError(f"label association {old} names an unknown heuristic {source_ref}")
            source_id = self.ids.source_ids[source_ref]
        found = self._resolve(old, row, source_id)
        if source_id is not None:
            self._vote(found, source_id)
        elif self._first_manual(found):
            self._manual(found, row, user_id)

    def _resolve(self, old: str, row: dict[str, Any], source_id: uuid.UUID | None) -> _Association:
        record_ref = ref(row.get("record_id"))
        label_ref = ref(row.get("labeling_task_label_id"))
        if record_ref is None or record_ref not in self.ids.record_ids:
            raise SnapshotError(f"label association {old} names an unknown record {record_ref}")
        if label_ref is None or label_ref not in self.ids.label_ids:
            raise SnapshotError(f"label association {old} names an unknown label {label_ref}")
        old_task = self.ids.label_task[label_ref]
        start = end = None
        if self.ids.task_types[old_task] == TaskType.INFORMATION_EXTRACTION:
            start, end = self._span(old, record_ref)
        confidence = row.get("confidence")
        if isinstance(confidence, int | float) and not (0.0 <= float(confidence) <= 1.0):  # NaN fails too
            raise SnapshotError(f"label association {old} has confidence {confidence!r}, not a number from 0 to 1")
        return _Association(
            old,
            self.ids.record_ids[record_ref],
            old_task,
            self.ids.task_ids[old_task],
            label_ref,
            self.ids.label_ids[label_ref],
            start,
            end,
            float(confidence) if isinstance(confidence, int | float) else None,
            source_id,
        )

    def _span(self, old: str, record_ref: str) -> tuple[int, int]:
        indexes = sorted(set(self.tokens.get(old, [])))
        if not indexes:
            raise SnapshotError(f"span association {old} (record {record_ref}) has no tokens")
        if indexes != list(range(indexes[0], indexes[-1] + 1)):
            raise SnapshotError(f"span association {old} has non-contiguous tokens {indexes}")
        return indexes[0], indexes[-1] + 1

    def _first_manual(self, found: _Association) -> bool:
        """Every annotator becomes the importing user: a multiclass task keeps one class per record (the valid one
        first), other tasks one of identical labels (or spans)."""
        if self.ids.task_types[found.old_task] == TaskType.MULTICLASS_CLASSIFICATION:
            key: tuple[Any, ...] = (found.record_id, found.old_task)
            reason = "conflicting_manual_labels"
        else:
            key, reason = (found.record_id, found.label_ref, found.start, found.end), "duplicate_manual_labels"
        if key in self.manual_seen:
            self.skipped[reason] += 1
            return False
        self.manual_seen.add(key)
        return True

    def _vote(self, found: _Association, source_id: uuid.UUID) -> None:
        """A heuristic's vote: kept in heuristic_result, not as a row."""
        if self.source_tasks[source_id] != found.task_id:
            raise SnapshotError(f"label association {found.old}: its heuristic and its label belong to different labeling tasks")
        votes = self.votes.setdefault(source_id, heuristic_results.ResultBuffer())
        votes.add(found.record_id, found.label_id, found.start, found.end, found.confidence)
        self.counts["heuristic"] += 1

    def _manual(self, found: _Association, row: dict[str, Any], user_id: uuid.UUID | None) -> None:
        self.rows.append(
            (
                uuid.uuid4(),
                self.project_id,
                found.record_id,
                found.task_id,
                found.label_id,
                SourceType.MANUAL.value,
                None,
                (ReturnType.YIELD if found.start is not None else ReturnType.RETURN).value,
                found.confidence if found.confidence is not None else 1.0,
                user_id,
                bool(row.get("is_gold_star")),
                found.start,
                found.end,
            )
        )
        self.counts["manual"] += 1
        self.manual_records[found.task_id].add(found.record_id)

    def store(self) -> dict[str, Any]:
        for source_id, votes in self.votes.items():
            heuristic_results.store_session_results(self.session, self.project_id, self.source_tasks[source_id], source_id, votes)
        # before the manual labels: their read-model rows compute "differ" against the current version
        task_types = {self.ids.task_ids[old]: kind for old, kind in self.ids.task_types.items()}
        self.counts["weak_supervision"] = self.weak.store(self.session, self.project_id, task_types)
        self.skipped.update(self.weak.skipped)
        if self.rows:
            cursor = self.session.connection().connection.cursor()
            execute_values(
                cursor,
                "INSERT INTO record_label_association (id, project_id, record_id, labeling_task_id, label_id, source_type,"
                " source_id, return_type, confidence, created_by, is_gold_star, token_start, token_end,"
                " is_valid_manual_label, created_at) VALUES %s",
                [tuple(str(v) if isinstance(v, uuid.UUID) else v for v in r) for r in self.rows],
                template="(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, false, now())",
                page_size=2000,
            )
            # the project is new: all of its manual labels are the snapshot's, each (record, task) one history entry
            cursor.execute(
                label_history.imported_sql("a.project_id = %(project)s"), {"via": "SNAPSHOT", "project": str(self.project_id)}
            )
        for task_id, records in self.manual_records.items():
            valid_labels.recompute(self.session, task_id, records)
        return {**self.counts, "skipped": dict(self.skipped)}


def _span_tokens(data: dict[str, Any]) -> dict[str, list[int]]:
    """Association id -> its token indexes."""
    tokens: dict[str, list[int]] = defaultdict(list)
    for row in rows_of(data, "record_label_association_tokens_data"):
        index = row.get("token_index")
        if not isinstance(index, int) or index < 0:
            raise SnapshotError(f"a span token of association {row.get('record_label_association_id')} has no valid token_index")
        tokens[str(row.get("record_label_association_id"))].append(index)
    return tokens


def import_associations(
    session: Session, project_id: uuid.UUID, data: dict[str, Any], ids: Mappings, user_id: uuid.UUID | None
) -> dict[str, Any]:
    """Manual, heuristic and weak-supervision labels (classification and spans); model-callback ones are skipped.
    Returns the counts of manual, heuristic and weak-supervision labels and what was skipped, by reason."""
    importer = _Importer(session, project_id, data, ids)
    ordered = sorted(  # the valid (gold-starred first) manual label of a record wins where one must be dropped
        rows_of(data, "record_label_associations_data"),
        key=lambda r: (not r.get("is_gold_star"), not r.get("is_valid_manual_label")),
    )
    for row in ordered:
        importer.add(row, user_id)
    return importer.store()
