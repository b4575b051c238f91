"""The data browser's read model of heuristic votes: ``heuristic_vote_summary`` (migration 0010).

Per (task, record) with a vote it holds how many heuristics voted, how many distinct labels they gave, and the votes
as integer codes (``heuristic ordinal * 1024 + label ordinal``; the ordinals are kept in the state row). So "no
heuristic voted" is an anti-join on its primary key, "heuristics disagree" a lookup of ``labels > 1`` and "heuristic
X voted Y" an array overlap on one row per record, instead of unnesting (and grouping) the vote chunks of the task
(1.2–1.6 s at 1M records).

It is rebuilt per task when used and stale. Staleness is a fingerprint of the task's ``heuristic_result`` chunks:
their count, the largest chunk id and the sum of their row versions (``xmin``), which changes with every insert,
delete and update of a chunk. So every writer (heuristic runs in the executor, pre-computed results, zero-shot,
snapshot import, and record deletes, whose trigger rewrites chunks) is covered without touching its code; the first
query after a change pays the rebuild, later ones read the summary.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

LOCK_CLASS = 5010  # pg_advisory_xact_lock(class, hashtext(task id)): one rebuild of a task at a time
LABEL_SLOTS = 1024  # code = heuristic ordinal * LABEL_SLOTS + label ordinal

_FINGERPRINT = text(
    "SELECT count(*) || ':' || coalesce(max(id), 0) || ':' || coalesce(sum(xmin::text::bigint), 0)"
    " FROM heuristic_result WHERE labeling_task_id = :t"
)


@dataclass(frozen=True)
class VoteCodes:
    """Ordinals of a task's heuristics and labels in its summary's vote codes."""

    heuristics: dict[str, int]
    labels: dict[str, int]
    fingerprint: str = ""
    cached: dict[str, Any] | None = None  # figures derived from this summary (see :func:`cache_figures`)

    def codes(self, heuristic_id: uuid.UUID, label_ids: list[uuid.UUID] | None) -> list[int]:
        """The codes of the heuristic's votes for these labels (None: any label); [] when it has none."""
        n = self.heuristics.get(str(heuristic_id))
        if n is None:
            return []
        wanted = self.labels.values() if label_ids is None else [self.labels[str(i)] for i in label_ids if str(i) in self.labels]
        return sorted(n * LABEL_SLOTS + m for m in wanted)


def fingerprint(session: Session, task_id: uuid.UUID) -> str:
    return str(session.scalar(_FINGERPRINT, {"t": task_id}))


def _current(session: Session, task_id: uuid.UUID) -> VoteCodes | None:
    row = session.execute(
        text("SELECT fingerprint, codes FROM heuristic_vote_summary_state WHERE labeling_task_id = :t"), {"t": task_id}
    ).first()
    if row is None or row[0] != fingerprint(session, task_id):
        return None
    return VoteCodes(row[1].get("heuristics", {}), row[1].get("labels", {}), row[0], row[1].get("figures"))


def ensure_vote_summary(session: Session, task_id: uuid.UUID) -> VoteCodes:
    """Make the task's summary current; returns its vote codes."""
    codes = _current(session, task_id)
    if codes is not None:
        return codes
    session.execute(text("SELECT pg_advisory_xact_lock(:c, hashtext(CAST(:t AS text)))"), {"c": LOCK_CLASS, "t": task_id})
    codes = _current(session, task_id)  # another request may have rebuilt it while this one waited
    if codes is not None:
        return codes
    current = fingerprint(session, task_id)
    heuristics = [
        str(i)
        for i in session.scalars(
            text("SELECT id FROM information_source WHERE labeling_task_id = :t ORDER BY id"), {"t": task_id}
        )
    ]
    labels = [
        str(i) for i in session.scalars(text("SELECT id FROM label WHERE labeling_task_id = :t ORDER BY id"), {"t": task_id})
    ]
    if len(labels) >= LABEL_SLOTS or len(heuristics) * LABEL_SLOTS > 2**31 - 1:
        raise ValueError(f"task {task_id}: too many labels or heuristics for vote codes")
    codes = VoteCodes({h: i for i, h in enumerate(heuristics)}, {label: i for i, label in enumerate(labels)}, current)
    session.execute(text("DELETE FROM heuristic_vote_summary WHERE labeling_task_id = :t"), {"t": task_id})
    session.execute(
        text(
            "INSERT INTO heuristic_vote_summary (labeling_task_id, record_id, heuristics, labels, votes)"
            " SELECT :t, v.rid, count(DISTINCT r.source_id), count(DISTINCT r.label_id),"
            " array_agg(DISTINCT CAST((h.n - 1) * :slots + (l.n - 1) AS integer))"
            " FROM heuristic_result r"
            " JOIN unnest(CAST(:hs AS uuid[])) WITH ORDINALITY AS h(id, n) ON h.id = r.source_id"
            " JOIN unnest(CAST(:ls AS uuid[])) WITH ORDINALITY AS l(id, n) ON l.id = r.label_id"
            " CROSS JOIN LATERAL unnest(r.record_ids) AS v(rid)"
            " WHERE r.labeling_task_id = :t GROUP BY v.rid"
        ),
        {"t": task_id, "hs": heuristics, "ls": labels, "slots": LABEL_SLOTS},
    )
    session.execute(
        text(
            "INSERT INTO heuristic_vote_summary_state (labeling_task_id, fingerprint, codes, built_at)"
            " VALUES (:t, :f, CAST(:c AS jsonb), now()) ON CONFLICT (labeling_task_id) DO UPDATE"
            " SET fingerprint = EXCLUDED.fingerprint, codes = EXCLUDED.codes, built_at = now()"
        ),
        {"t": task_id, "f": current, "c": json.dumps({"heuristics": codes.heuristics, "labels": codes.labels})},
    )
    # fresh statistics (most common vote codes, disagreement share) so the planner picks index probes for selective
    # conditions instead of hashing the whole summary
    session.execute(text("ANALYZE heuristic_vote_summary"))
    return codes


def cache_figures(session: Session, task_id: uuid.UUID, codes: VoteCodes, figures: dict[str, Any]) -> None:
    """Keep figures computed from the summary (the whole project's heuristic metrics) with it, as long as the summary
    is the one they were computed from (a rebuild replaces the state's ``codes`` and so drops them)."""
    session.execute(
        text(
            "UPDATE heuristic_vote_summary_state SET codes = codes || jsonb_build_object('figures', CAST(:f AS jsonb))"
            " WHERE labeling_task_id = :t AND fingerprint = :fp"
        ),
        {"t": task_id, "fp": codes.fingerprint, "f": json.dumps(figures)},
    )
