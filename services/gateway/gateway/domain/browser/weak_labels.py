"""Weak-supervision labels as the data browser reads them: each task's current version (migration 0023).

A task's labels are rows of ``weak_supervision_result`` (one per record) under the version that
``weak_supervision_current`` names. The browser reads that version's id once per request (:func:`current_versions`)
and names it as a constant in its queries, so the version's keys serve them: (version, record) for a record's
labels and joins, (version, confidence) for "by confidence" orders and ranges. A new run becomes visible when its
version is switched current; nothing in the read model is rewritten.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared_model.models import WeakSupervisionCurrent

NO_VERSION = uuid.UUID(int=0)  # a task without weak-supervision labels: a version without rows


def current_versions(session: Session, task_ids: list[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    """The current weak-supervision version of each of these tasks that has one."""
    if not task_ids:
        return {}
    return dict(
        session.execute(
            select(WeakSupervisionCurrent.labeling_task_id, WeakSupervisionCurrent.version_id).where(
                WeakSupervisionCurrent.labeling_task_id.in_(task_ids)
            )
        )
        .tuples()
        .all()
    )
