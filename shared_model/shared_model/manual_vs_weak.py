"""What depends on both a task's manual labels and its current weak-supervision version: the label read model's
``differ`` flags ("manual and weak supervision differ", migration 0023) and the whole project's confusion matrix
(manual x weak supervision, kept in ``metric_cache`` with the marks it was computed from, migration 0024).

Both are computed again once after a new version becomes current. The weak-supervision job does that right after its
switch (:func:`refresh_after_switch`), so the data browser's first request after a run reads kept figures; a reader
that comes first (or after a switch by another writer: a snapshot import) computes them itself through the same
functions, in its own transaction. One implementation: the gateway's browser and metrics call these.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, select, text, true
from sqlalchemy.orm import Session

from .kept_figures import cached, manual_mark, version_mark, weakly_supervised
from .models import LabelingTask, RecordTaskLabel, TaskType, WeakSupervisionDifferState
from .models import WeakSupervisionResult as WSR
from .weak_supervision_results import current_version

READ_MODEL_LOCK = 5018  # the label read model's per-task lock (migration 0018): label writes' refreshes take it too
CONFUSION_MATRIX = "confusion-matrix"  # its metric_cache key

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


def ensure_differ(session: Session, task_id: uuid.UUID, version: uuid.UUID) -> bool:
    """Make the task's ``record_task_label.differ`` flags those against ``version`` (its current weak-supervision
    version); returns whether rows were computed again. After a new run became current, the task's manually labeled
    rows are recomputed once (one UPDATE, in the caller's transaction, under the task's read-model lock so no label
    write's refresh interleaves); label writes keep them current in between (their refresh compares with the current
    version).

    Rows a label write computed against another version after that (a write across a switch: a transaction whose
    snapshot predates the switch, so its refresh read the previous version) are found by an index probe on every
    call and recomputed the same way, so a reader's flags are all against ``version`` (its query also names
    ``ws_version = version``: a row that a still-open writer changes meanwhile is left out, never read with another
    version's flag)."""
    if _differ_state(session, task_id) == version and not stale_differ(session, task_id, version):
        return False
    _lock(session, task_id)
    if _differ_state(session, task_id) == version and not stale_differ(session, task_id, version):
        return False  # another transaction recomputed them while this one waited
    session.execute(_REFRESH_DIFFER, {"v": version, "t": task_id})
    session.execute(
        text(
            "INSERT INTO weak_supervision_differ_state (labeling_task_id, version_id) VALUES (:t, :v)"
            " ON CONFLICT (labeling_task_id) DO UPDATE SET version_id = EXCLUDED.version_id"
        ),
        {"t": task_id, "v": version},
    )
    return True


def _lock(session: Session, task_id: uuid.UUID) -> None:
    """The task's read-model lock, until the transaction ends."""
    session.execute(text("SELECT pg_advisory_xact_lock(:c, hashtext(CAST(:t AS text)))"), {"c": READ_MODEL_LOCK, "t": task_id})


def _differ_state(session: Session, task_id: uuid.UUID) -> uuid.UUID | None:
    found: uuid.UUID | None = session.scalar(
        select(WeakSupervisionDifferState.version_id).where(WeakSupervisionDifferState.labeling_task_id == task_id)
    )
    return found


def confusion_pairs_query(
    task_id: uuid.UUID, version: uuid.UUID, in_scope: Callable[[Any], ColumnElement[bool]] | None = None
) -> Select[Any]:
    """A classification task's (decided manual label id, weak-supervision label id, records) as text ids: the read
    model's row (decided labels) joined to the record's row of ``version``, every pair of a record; ``in_scope``
    limits the records (a slice), by default the whole project."""
    decided = func.unnest(RecordTaskLabel.decided).table_valued("d").render_derived()
    weak_labels = func.unnest(WSR.weak).table_valued("w").render_derived()
    manual_label = func.split_part(decided.c.d, ":", 1)
    weak_label = func.split_part(weak_labels.c.w, ":", 1)
    return (
        select(manual_label, weak_label, func.count())
        .select_from(RecordTaskLabel)
        .join(WSR, and_(WSR.version_id == version, WSR.record_id == RecordTaskLabel.record_id))
        .join(decided, true())
        .join(weak_labels, true())
        .where(
            RecordTaskLabel.labeling_task_id == task_id,
            RecordTaskLabel.decided.is_not(None),
            in_scope(RecordTaskLabel.record_id) if in_scope is not None else true(),
        )
        .group_by(manual_label, weak_label)
    )


def confusion_pairs(session: Session, task_id: uuid.UUID, version: uuid.UUID) -> list[list[Any]]:
    """The whole project's :func:`confusion_pairs_query` as ``[manual, weak, n]`` rows, kept in ``metric_cache`` while
    the version's rows and the task's manual labels are unchanged (computed where the kept value is of other marks)."""
    marks = f"{version}:{version_mark(session, version)}:{manual_mark(session, task_id)}"

    def pairs() -> list[list[Any]]:
        return [[a, b, int(n)] for a, b, n in session.execute(confusion_pairs_query(task_id, version))]

    found: list[list[Any]] = cached(session, task_id, CONFUSION_MATRIX, marks, pairs)
    return found


def refresh_after_switch(session_factory: Callable[[], Session], task_id: uuid.UUID, version: uuid.UUID) -> dict[str, float]:
    """After ``version`` became the task's current version: its ``differ`` flags (:func:`ensure_differ`), for
    classification the whole project's confusion matrix, and the project card's weakly supervised
    records (:func:`.kept_figures.weakly_supervised`) computed now, so the first reader finds them kept. Returns the
    seconds each took. Does nothing for a version that is no longer current (a later switch came first: its own
    refresh, or its first reader, computes them)."""
    seconds: dict[str, float] = {}
    session = session_factory()
    try:
        task = session.execute(select(LabelingTask.task_type, LabelingTask.project_id).where(LabelingTask.id == task_id)).first()
        if task is None or current_version(session, task_id) != version:
            return seconds
        task_type, project_id = task
        started = time.perf_counter()
        ensure_differ(session, task_id, version)  # one UPDATE under the task's read-model lock, as a first reader's
        session.commit()
        seconds["differ_s"] = round(time.perf_counter() - started, 3)
        if TaskType(task_type) != TaskType.INFORMATION_EXTRACTION:  # extraction's matrix pairs spans: not kept
            started = time.perf_counter()
            confusion_pairs(session, task_id, version)
            session.commit()
            seconds["confusion_matrix_s"] = round(time.perf_counter() - started, 3)
        started = time.perf_counter()
        weakly_supervised(session, [project_id])  # the project card's figure, where the versions' counts do not decide it
        session.commit()
        seconds["project_card_s"] = round(time.perf_counter() - started, 3)
    finally:
        session.close()
    return seconds
