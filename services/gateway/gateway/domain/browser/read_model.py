"""The data browser's read model of heuristic votes: ``heuristic_vote_summary`` (migration 0010).

Per (task, record) with a vote it holds how many heuristics voted and how many distinct labels they gave, so "no
heuristic voted" is an anti-join on its primary key and "heuristics disagree" a lookup of ``labels > 1``, instead of
unnesting and grouping every vote of the task (1.2–1.6 s at 1M records).

It is rebuilt per task when used and stale. Staleness is a fingerprint of the task's ``heuristic_result`` chunks:
their count, the largest chunk id and the sum of their row versions (``xmin``), which changes with every insert,
delete and update of a chunk. So every writer (heuristic runs in the executor, pre-computed results, zero-shot,
snapshot import, and record deletes, whose trigger rewrites chunks) is covered without touching its code; the first
query after a change pays the rebuild (about a second per million votes), later ones read the summary.
"""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.orm import Session

LOCK_CLASS = 5010  # pg_advisory_xact_lock(class, hashtext(task id)): one rebuild of a task at a time

_FINGERPRINT = text(
    "SELECT count(*) || ':' || coalesce(max(id), 0) || ':' || coalesce(sum(xmin::text::bigint), 0)"
    " FROM heuristic_result WHERE labeling_task_id = :t"
)


def fingerprint(session: Session, task_id: uuid.UUID) -> str:
    return str(session.scalar(_FINGERPRINT, {"t": task_id}))


def is_current(session: Session, task_id: uuid.UUID) -> bool:
    built = session.scalar(
        text("SELECT fingerprint FROM heuristic_vote_summary_state WHERE labeling_task_id = :t"), {"t": task_id}
    )
    return built is not None and built == fingerprint(session, task_id)


def ensure_vote_summary(session: Session, task_id: uuid.UUID) -> bool:
    """Make the task's summary current; returns whether it was rebuilt."""
    if is_current(session, task_id):
        return False
    session.execute(text("SELECT pg_advisory_xact_lock(:c, hashtext(CAST(:t AS text)))"), {"c": LOCK_CLASS, "t": task_id})
    if is_current(session, task_id):  # another request rebuilt it while this one waited
        return False
    current = fingerprint(session, task_id)
    session.execute(text("DELETE FROM heuristic_vote_summary WHERE labeling_task_id = :t"), {"t": task_id})
    session.execute(
        text(
            "INSERT INTO heuristic_vote_summary (labeling_task_id, record_id, heuristics, labels)"
            " SELECT :t, v.rid, count(DISTINCT h.source_id), count(DISTINCT h.label_id)"
            " FROM heuristic_result h CROSS JOIN LATERAL unnest(h.record_ids) AS v(rid)"
            " WHERE h.labeling_task_id = :t GROUP BY v.rid"
        ),
        {"t": task_id},
    )
    session.execute(
        text(
            "INSERT INTO heuristic_vote_summary_state (labeling_task_id, fingerprint, built_at) VALUES (:t, :f, now())"
            " ON CONFLICT (labeling_task_id) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, built_at = now()"
        ),
        {"t": task_id, "f": current},
    )
    return True
