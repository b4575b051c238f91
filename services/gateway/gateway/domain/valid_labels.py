"""The valid-manual-label rule, kept in ``record_label_association.is_valid_manual_label`` (indexed, partial).

Per (record, task), over MANUAL labels:
- a gold star wins: the gold-starred annotator's labels are the valid ones;
- otherwise one annotator: their labels count;
- otherwise only agreement counts: when every annotator gave exactly the same labels (same label set for
  classification, same spans for extraction) one annotator's copy (the earliest) is valid, so readers count each
  record's labels once; any disagreement leaves no valid label.

Every change to manual labels locks the record rows (``FOR NO KEY UPDATE``, in id order) and recomputes the rule for
the touched (record, task) pairs in the same transaction, so two people labeling one record are serialized and the
flag never reflects a half-seen state.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, any_, bindparam, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import BindParameter

from shared_model.models import RecordLabelAssociation as RLA
from shared_model.models import SourceType


def lock_records(session: Session, record_ids: Iterable[int]) -> None:
    """Serialize label changes on these records with concurrent ones (row locks, taken in id order)."""
    ids = sorted(set(record_ids))
    if ids:
        session.execute(text("SELECT id FROM record WHERE id = ANY(:ids) ORDER BY id FOR NO KEY UPDATE"), {"ids": ids}).all()


@dataclass(frozen=True)
class _Row:
    id: uuid.UUID
    record_id: int
    created_by: uuid.UUID | None
    label_id: uuid.UUID
    token_start: int | None
    token_end: int | None
    is_gold_star: bool
    created_at: datetime


def valid_ids(rows: list[_Row]) -> set[uuid.UUID]:
    """The ids of the valid rows among one (record, task)'s manual labels."""
    gold = [row for row in rows if row.is_gold_star]
    if gold:
        gold_user = gold[0].created_by
        return {row.id for row in rows if row.created_by == gold_user}
    by_user: dict[uuid.UUID | None, list[_Row]] = defaultdict(list)
    for row in rows:
        by_user[row.created_by].append(row)
    if len(by_user) == 1:
        return {row.id for row in rows}
    signatures = {user: frozenset((r.label_id, r.token_start, r.token_end) for r in mine) for user, mine in by_user.items()}
    if len(set(signatures.values())) != 1:
        return set()
    first = min(by_user, key=lambda user: min(r.created_at for r in by_user[user]))
    return {row.id for row in by_user[first]}


def _ids(record_ids: list[int]) -> BindParameter[Any]:
    return bindparam("record_ids", record_ids, type_=ARRAY(BigInteger))


def recompute(session: Session, task_id: uuid.UUID, record_ids: Iterable[int]) -> int:
    """Recompute ``is_valid_manual_label`` of a task's manual labels on these records; returns how many are valid."""
    ids = sorted(set(record_ids))
    if not ids:
        return 0
    session.flush()
    result = session.execute(
        select(
            RLA.id, RLA.record_id, RLA.created_by, RLA.label_id, RLA.token_start, RLA.token_end, RLA.is_gold_star, RLA.created_at
        ).where(RLA.labeling_task_id == task_id, RLA.source_type == SourceType.MANUAL, RLA.record_id == any_(_ids(ids)))
    ).all()
    per_record: dict[int, list[_Row]] = defaultdict(list)
    for r in result:
        per_record[r.record_id].append(_Row(*r))
    valid: set[uuid.UUID] = set()
    for rows in per_record.values():
        valid |= valid_ids(rows)
    session.execute(
        update(RLA)
        .where(RLA.labeling_task_id == task_id, RLA.source_type == SourceType.MANUAL, RLA.record_id == any_(_ids(ids)))
        .values(is_valid_manual_label=RLA.id == any_(bindparam("valid", sorted(valid), type_=ARRAY(UUID(as_uuid=True)))))
        .execution_options(synchronize_session=False)
    )
    return len(valid)
