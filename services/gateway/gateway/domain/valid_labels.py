"""The decided manual label, kept in ``record_label_association.is_valid_manual_label`` (indexed, partial).

Manual labels are kept per annotator (one user's labels never replace another's). Per (record, task) one
annotator's copy is the decided (valid) one, by the project's resolution rule (:class:`Resolution`, stored in
``project.settings["label_resolution"]``):
- a gold star wins: the gold-starred annotator's labels are the valid ones (``GOLD_STAR``);
- otherwise one annotator: their labels count (``SINGLE_ANNOTATOR``);
- otherwise, when every annotator gave exactly the same labels (same label set for classification, same spans for
  extraction), one annotator's copy (the earliest) is valid, so readers count each record's labels once
  (``UNANIMOUS``);
- otherwise the rule: ``UNANIMOUS`` (the default) leaves no valid label; ``MAJORITY`` takes the label set given by the
  most annotators (a tie for the most leaves no valid label); ``EXPERT`` takes the chosen expert's labels when the
  expert labeled the record (also when others agree among themselves), else no valid label.

Every change to manual labels locks the record rows (``FOR NO KEY UPDATE``, in id order) and recomputes the rule for
the touched (record, task) pairs in the same transaction, so two people labeling one record are serialized and the
flag never reflects a half-seen state. Changing a project's rule recomputes all of its manual labels.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, any_, bindparam, select, text
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import BindParameter

from shared_model.models import LabelingTask, Project, SourceType
from shared_model.models import RecordLabelAssociation as RLA

SETTINGS_KEY = "label_resolution"  # the key in ``project.settings``


class Rule(StrEnum):
    """How disagreeing annotators' labels are resolved when no gold star decides."""

    UNANIMOUS = "UNANIMOUS"
    MAJORITY = "MAJORITY"
    EXPERT = "EXPERT"


class DecidedBy(StrEnum):
    """Why a (record, task)'s decided label is the one it is (or ``UNDECIDED``: annotators disagree, nothing valid)."""

    GOLD_STAR = "GOLD_STAR"
    SINGLE_ANNOTATOR = "SINGLE_ANNOTATOR"
    UNANIMOUS = "UNANIMOUS"
    MAJORITY = "MAJORITY"
    EXPERT = "EXPERT"
    UNDECIDED = "UNDECIDED"


@dataclass(frozen=True)
class Resolution:
    """A project's resolution rule (``expert_user_id`` with ``EXPERT``)."""

    rule: Rule = Rule.UNANIMOUS
    expert_user_id: uuid.UUID | None = None

    @classmethod
    def from_settings(cls, settings: dict[str, Any] | None) -> Resolution:
        stored = (settings or {}).get(SETTINGS_KEY) or {}
        try:
            rule = Rule(stored.get("rule", Rule.UNANIMOUS))
            expert = stored.get("expert_user_id")
            return cls(rule, uuid.UUID(expert) if expert else None)
        except (ValueError, TypeError, AttributeError):  # a hand-edited setting: the default rule
            return cls()

    def to_settings(self) -> dict[str, Any]:
        return {"rule": self.rule.value, "expert_user_id": str(self.expert_user_id) if self.expert_user_id else None}


def project_resolution(session: Session, project_id: uuid.UUID) -> Resolution:
    """The project's resolution rule."""
    return Resolution.from_settings(session.scalar(select(Project.settings).where(Project.id == project_id)))


def task_resolution(session: Session, task_id: uuid.UUID) -> Resolution:
    """The resolution rule of the task's project."""
    settings = session.scalar(
        select(Project.settings).join(LabelingTask, LabelingTask.project_id == Project.id).where(LabelingTask.id == task_id)
    )
    return Resolution.from_settings(settings)


def lock_records(session: Session, record_ids: Iterable[int]) -> None:
    """Serialize label changes on these records with concurrent ones (row locks, taken in id order)."""
    ids = sorted(set(record_ids))
    if ids:
        session.execute(text("SELECT id FROM record WHERE id = ANY(:ids) ORDER BY id FOR NO KEY UPDATE"), {"ids": ids}).all()


@dataclass(frozen=True)
class ManualRow:
    """What the rule reads of one manual label."""

    id: uuid.UUID
    record_id: int
    created_by: uuid.UUID | None
    label_id: uuid.UUID
    token_start: int | None
    token_end: int | None
    is_gold_star: bool
    created_at: datetime

    @classmethod
    def from_json(cls, record_id: int, start: int | None, end: int | None, row: list[Any]) -> ManualRow:
        """From ``[id, created_by, label_id, is_gold_star, created_at]`` as ``jsonb_build_array`` gives them."""
        row_id, created_by, label_id, gold, created = row
        return cls(
            uuid.UUID(row_id),
            record_id,
            uuid.UUID(created_by) if created_by else None,
            uuid.UUID(label_id),
            start,
            end,
            bool(gold),
            datetime.fromisoformat(created),
        )


_Row = ManualRow  # the name the concurrency test imports


def decide(rows: list[ManualRow], resolution: Resolution | None = None) -> tuple[set[uuid.UUID], DecidedBy | None]:
    """The ids of the valid rows among one (record, task)'s manual labels, and why (None: no manual label)."""
    if not rows:
        return set(), None
    resolution = resolution or Resolution()
    gold = [row for row in rows if row.is_gold_star]
    if gold:
        gold_user = gold[0].created_by
        return {row.id for row in rows if row.created_by == gold_user}, DecidedBy.GOLD_STAR
    by_user: dict[uuid.UUID | None, list[ManualRow]] = defaultdict(list)
    for row in rows:
        by_user[row.created_by].append(row)
    if len(by_user) == 1:
        return {row.id for row in rows}, DecidedBy.SINGLE_ANNOTATOR
    if resolution.rule == Rule.EXPERT and resolution.expert_user_id in by_user:
        return {row.id for row in by_user[resolution.expert_user_id]}, DecidedBy.EXPERT
    signatures = {user: frozenset((r.label_id, r.token_start, r.token_end) for r in mine) for user, mine in by_user.items()}

    def earliest(users: Iterable[uuid.UUID | None]) -> set[uuid.UUID]:
        first = min(users, key=lambda user: (min(r.created_at for r in by_user[user]), str(user)))
        return {row.id for row in by_user[first]}

    if len(set(signatures.values())) == 1:
        return earliest(by_user), DecidedBy.UNANIMOUS
    if resolution.rule == Rule.MAJORITY:
        ranked = Counter(signatures.values()).most_common()
        if ranked[0][1] > ranked[1][1]:
            return earliest(user for user, sig in signatures.items() if sig == ranked[0][0]), DecidedBy.MAJORITY
    return set(), DecidedBy.UNDECIDED


def valid_ids(rows: list[ManualRow], resolution: Resolution | None = None) -> set[uuid.UUID]:
    """The ids of the valid rows among one (record, task)'s manual labels."""
    return decide(rows, resolution)[0]


def _ids(record_ids: list[int]) -> BindParameter[Any]:
    return bindparam("record_ids", record_ids, type_=ARRAY(BigInteger))


def recompute(session: Session, task_id: uuid.UUID, record_ids: Iterable[int], resolution: Resolution | None = None) -> int:
    """Recompute ``is_valid_manual_label`` of a task's manual labels on these records by the project's rule (or
    ``resolution``); returns how many are valid."""
    ids = sorted(set(record_ids))
    if not ids:
        return 0
    if resolution is None:
        resolution = task_resolution(session, task_id)
    session.flush()
    result = session.execute(
        select(
            RLA.id, RLA.record_id, RLA.created_by, RLA.label_id, RLA.token_start, RLA.token_end, RLA.is_gold_star, RLA.created_at
        ).where(RLA.labeling_task_id == task_id, RLA.source_type == SourceType.MANUAL, RLA.record_id == any_(_ids(ids)))
    ).all()
    per_record: dict[int, list[ManualRow]] = defaultdict(list)
    for r in result:
        per_record[r.record_id].append(ManualRow(*r))
    valid: set[uuid.UUID] = set()
    for rows in per_record.values():
        valid |= valid_ids(rows, resolution)
    # a join with the valid ids (not ``id = ANY(valid)`` per row: quadratic, minutes at 20k records), writing only the
    # rows whose flag changes
    session.execute(
        _SET_VALID,
        {"t": task_id, "ids": ids, "valid": sorted(valid)},
    )
    return len(valid)


_SET_VALID = text(
    "UPDATE record_label_association a SET is_valid_manual_label = s.valid"
    " FROM (SELECT r.id, v.id IS NOT NULL AS valid FROM record_label_association r"
    " LEFT JOIN unnest(CAST(:valid AS uuid[])) AS v(id) ON v.id = r.id"
    " WHERE r.labeling_task_id = :t AND r.source_type = 'MANUAL' AND r.record_id = ANY(CAST(:ids AS bigint[]))) s"
    " WHERE a.id = s.id AND a.is_valid_manual_label IS DISTINCT FROM s.valid"
).bindparams(bindparam("valid", type_=ARRAY(UUID(as_uuid=True))), bindparam("ids", type_=ARRAY(BigInteger)))


def recompute_project(session: Session, project_id: uuid.UUID, resolution: Resolution) -> int:
    """Recompute every manual label of the project by ``resolution`` (after the rule changed); returns the (record,
    task) pairs looked at. Locks every manually labeled record of the project first."""
    pairs = session.execute(
        select(RLA.labeling_task_id, RLA.record_id)
        .where(RLA.project_id == project_id, RLA.source_type == SourceType.MANUAL)
        .distinct()
    ).all()
    lock_records(session, (record_id for _, record_id in pairs))
    per_task: dict[uuid.UUID, list[int]] = defaultdict(list)
    for task_id, record_id in pairs:
        per_task[task_id].append(record_id)
    for task_id, records in per_task.items():
        recompute(session, task_id, records, resolution)
    return len(pairs)
