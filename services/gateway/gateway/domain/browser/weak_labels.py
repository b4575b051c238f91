"""Weak-supervision labels as the data browser reads them: each task's current version (migration 0023).

A task's labels are rows of ``weak_supervision_result`` (one per record) under the version that
``weak_supervision_current`` names. The browser reads that version's id once per request (:func:`current_versions`)
and names it as a constant in its queries, so the version's keys serve them: (version, record) for a record's
labels and joins, (version, confidence) for "by confidence" orders and ranges. A new run becomes visible when its
version is switched current; nothing in the read model is rewritten.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from shared_model.models import WeakSupervisionCurrent, WeakSupervisionDifferState

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


READ_MODEL_LOCK = 5018  # the label read model's per-task lock (migration 0018): label writes' refreshes take it too

# rows computed against another version than :v (``IS DISTINCT FROM`` spelled so that ``ix_record_task_label_ws_version``
# finds a few of them without reading the task's other rows)
_OTHER_VERSION = "(ws_version < CAST(:v AS uuid) OR ws_version > CAST(:v AS uuid) OR ws_version IS NULL)"

_REFRESH_DIFFER = text(
    "UPDATE record_task_label l SET ws_version = CAST(:v AS uuid),"
    " differ = coalesce(l.decided IS NOT NULL AND NOT (l.decided @> w.weak AND w.weak @> l.decided), false)"
    " FROM record_task_label k"
    " LEFT JOIN weak_supervision_result w ON w.version_id = CAST(:v AS uuid) AND w.record_id = k.record_id"
    " WHERE k.labeling_task_id = :t AND k.record_id = l.record_id AND l.labeling_task_id = :t"
    " AND " + _OTHER_VERSION.replace("ws_version", "l.ws_version")
)

_STALE = text(f"SELECT EXISTS (SELECT 1 FROM record_task_label WHERE labeling_task_id = :t AND {_OTHER_VERSION})")


def stale_differ(session: Session, task_id: uuid.UUID, version: uuid.UUID) -> bool:
    """Whether some of the task's rows hold a ``differ`` computed against another version than ``version`` (an index
    probe of ``ix_record_task_label_ws_version``, migration 0025)."""
    return bool(session.scalar(_STALE, {"t": task_id, "v": version}))


def ensure_differ(session: Session, task_id: uuid.UUID, version: uuid.UUID) -> None:
    """Make the task's ``record_task_label.differ`` flags those against ``version`` (its current weak-supervision
    version): after a new run became current, the task's manually labeled rows are recomputed once (one UPDATE, in
    this request's transaction, under the task's read-model lock so no label write's refresh interleaves); label
    writes keep them current in between (their refresh compares with the current version).

    Rows a label write computed against another version after that (a write across a switch: a transaction whose
    snapshot predates the switch, so its refresh read the previous version) are found by an index probe on every
    call and recomputed the same way, so the reader's flags are all against ``version`` (its query also names
    ``ws_version = version``: a row that a still-open writer changes meanwhile is left out, never read with another
    version's flag)."""
    state = select(WeakSupervisionDifferState.version_id).where(WeakSupervisionDifferState.labeling_task_id == task_id)
    if session.scalar(state) == version and not stale_differ(session, task_id, version):
        return
    session.execute(text("SELECT pg_advisory_xact_lock(:c, hashtext(CAST(:t AS text)))"), {"c": READ_MODEL_LOCK, "t": task_id})
    if session.scalar(state) == version and not stale_differ(session, task_id, version):
        return  # another request recomputed them while this one waited
    session.execute(_REFRESH_DIFFER, {"v": version, "t": task_id})
    session.execute(
        text(
            "INSERT INTO weak_supervision_differ_state (labeling_task_id, version_id) VALUES (:t, :v)"
            " ON CONFLICT (labeling_task_id) DO UPDATE SET version_id = EXCLUDED.version_id"
        ),
        {"t": task_id, "v": version},
    )
