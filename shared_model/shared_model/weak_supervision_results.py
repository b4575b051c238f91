"""Weak-supervision labels kept per version behind a per-task pointer (migration 0023).

A version's rows are in ``weak_supervision_result`` (one per record: its labels, confidences and spans as parallel
arrays); ``weak_supervision_current`` names each task's current version, and the views ``weak_supervision_label``
and ``weak_supervision_association`` show only current versions: readers read those.

A weak-supervision run writes its labels under a version of its own (:func:`begin_version`, then :func:`write_rows`
chunk by chunk, each in a short transaction nobody reads), makes it current with :func:`switch_version` (one row
written, in the transaction that marks the run finished) and removes superseded versions with
:func:`collect_garbage` (a few thousand rows per transaction). A run that fails or is killed before the switch
leaves the previous version fully visible; its rows are garbage once the run is no longer QUEUED or RUNNING.
Writers without a run of their own (snapshot import, pre-computed labels) insert WEAK_SUPERVISION rows into
``record_label_association``: a trigger puts them into the task's current version, in the caller's transaction.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

LOCK_CLASS = 5005  # the project's advisory lock (0005): writers shared, record deletes exclusively
CHUNK_ROWS = 100_000  # rows (records) per write transaction
GARBAGE_ROWS = 20_000  # rows deleted per garbage-collection transaction
COLUMNS = (
    "version_id, record_id, labeling_task_id, project_id, label_ids, confidences, token_starts, token_ends, weak, confidence"
)


def signature(label_id: str, start: int | None, end: int | None) -> str:
    """A label's ``label:start:end`` text, as ``record_task_label.decided`` has it (-1 where there is no span)."""
    return f"{label_id}:{-1 if start is None else start}:{-1 if end is None else end}"


def row_line(
    version_id: str,
    record_id: int,
    task_id: str,
    project_id: str,
    label_ids: list[str],
    confidences: list[float | None],
    starts: list[int] | None = None,
    ends: list[int] | None = None,
) -> str:
    """One record's row in COPY's text format (the labels of one record, in the order given)."""

    def array(values: Iterable[Any]) -> str:
        return "{" + ",".join("NULL" if v is None else repr(v) if isinstance(v, float) else str(v) for v in values) + "}"

    spans = starts is not None and ends is not None
    weak = sorted(
        {signature(lab, starts[i] if spans else None, ends[i] if spans else None) for i, lab in enumerate(label_ids)}  # type: ignore[index]
    )
    present = [c for c in confidences if c is not None]
    return "\t".join(
        [
            version_id,
            str(record_id),
            task_id,
            project_id,
            array(label_ids),
            array(confidences),
            array(starts) if spans else "\\N",  # type: ignore[arg-type]
            array(ends) if spans else "\\N",  # type: ignore[arg-type]
            array(weak),
            repr(max(present)) if present else "\\N",
        ]
    )


def begin_version(session: Session, task_id: uuid.UUID, version_id: uuid.UUID) -> None:
    """Register ``version_id`` (a run's id) as a version of the task, not current (in the caller's transaction)."""
    session.execute(
        text(
            "INSERT INTO weak_supervision_version (id, labeling_task_id, project_id)"
            " SELECT :v, t.id, t.project_id FROM labeling_task t WHERE t.id = :t ON CONFLICT (id) DO NOTHING"
        ),
        {"v": version_id, "t": task_id},
    )


def write_rows(cursor: Any, project_id: uuid.UUID, version_id: uuid.UUID, lines: list[str], record_ids: list[int]) -> int:
    """Store one chunk of rows (:func:`row_line`, of the records ``record_ids``) through a DB-API ``cursor``, in its
    transaction (the caller commits); returns the rows kept.

    The project's lock is held shared, so a record delete (which takes it exclusively) either waits until this
    transaction ends (its trigger then removes the rows from every version, this one included) or committed before:
    the chunk's rows of records that no longer exist are then removed here (checked by one count in the common case)."""
    if not lines:
        return 0
    cursor.execute("SELECT pg_advisory_xact_lock_shared(%s, hashtext(%s))", (LOCK_CLASS, str(project_id)))
    cursor.copy_expert(f"COPY weak_supervision_result ({COLUMNS}) FROM STDIN", io.StringIO("\n".join(lines) + "\n"))
    cursor.execute("SELECT count(*) FROM record WHERE project_id = %s AND id = ANY(%s::bigint[])", (str(project_id), record_ids))
    if int(cursor.fetchone()[0]) == len(record_ids):
        return len(lines)
    cursor.execute(
        "DELETE FROM weak_supervision_result w WHERE w.version_id = %s AND w.record_id = ANY(%s::bigint[])"
        " AND NOT EXISTS (SELECT 1 FROM record r WHERE r.id = w.record_id AND r.project_id = %s)",
        (str(version_id), record_ids, str(project_id)),
    )
    return len(lines) - int(cursor.rowcount)


def switch_version(session: Session, task_id: uuid.UUID, version_id: uuid.UUID) -> None:
    """Make ``version_id`` the task's current version (in the caller's transaction: one row is written, whatever the
    number of labels). Readers see the new labels, and no longer the old ones, when it commits."""
    session.execute(
        text(
            "INSERT INTO weak_supervision_current (labeling_task_id, version_id) VALUES (:t, :v)"
            " ON CONFLICT (labeling_task_id) DO UPDATE SET version_id = EXCLUDED.version_id, switched_at = now()"
        ),
        {"t": task_id, "v": version_id},
    )


def current_version(session: Session, task_id: uuid.UUID) -> uuid.UUID | None:
    """The task's current version (None: it never had weak-supervision labels)."""
    found: uuid.UUID | None = session.scalar(
        text("SELECT version_id FROM weak_supervision_current WHERE labeling_task_id = :t"), {"t": task_id}
    )
    return found


def garbage_versions(session: Session, task_id: uuid.UUID) -> list[uuid.UUID]:
    """The task's versions no reader sees and no run still writes: not current, and not of a run QUEUED or RUNNING."""
    return list(
        session.scalars(
            text(
                "SELECT v.id FROM weak_supervision_version v"
                " LEFT JOIN weak_supervision_current c ON c.labeling_task_id = v.labeling_task_id"
                " WHERE v.labeling_task_id = :t AND v.id IS DISTINCT FROM c.version_id"
                " AND NOT EXISTS (SELECT 1 FROM weak_supervision_run r WHERE r.id = v.id AND r.state IN ('QUEUED', 'RUNNING'))"
                " ORDER BY v.created_at"
            ),
            {"t": task_id},
        )
    )


def collect_garbage(session_factory: Callable[[], Session], task_id: uuid.UUID, lock_timeout_s: float = 5.0) -> int:
    """Delete the rows of the task's :func:`garbage_versions`, :data:`GARBAGE_ROWS` per short transaction, then the
    versions; returns how many rows went. Never one large delete: a superseded run of 1M records is 50 transactions."""
    session = session_factory()
    try:
        versions = garbage_versions(session, task_id)
    finally:
        session.close()
    removed = 0
    for version in versions:
        while True:
            session = session_factory()
            try:
                session.execute(text(f"SET LOCAL lock_timeout = '{int(lock_timeout_s * 1000)}ms'"))
                result: Any = session.execute(
                    text(
                        "DELETE FROM weak_supervision_result WHERE version_id = :v AND record_id IN ("
                        " SELECT record_id FROM weak_supervision_result WHERE version_id = :v ORDER BY record_id LIMIT :n)"
                    ),
                    {"v": version, "n": GARBAGE_ROWS},
                )
                deleted = int(result.rowcount)
                if deleted < GARBAGE_ROWS:
                    session.execute(
                        text(
                            "DELETE FROM weak_supervision_version v WHERE v.id = :v AND NOT EXISTS ("
                            " SELECT 1 FROM weak_supervision_current c WHERE c.version_id = v.id)"
                        ),
                        {"v": version},
                    )
                session.commit()
            finally:
                session.close()
            removed += int(deleted)
            if deleted < GARBAGE_ROWS:
                break
    return removed


def version_row_count(session: Session, version_id: uuid.UUID) -> int:
    """How many records have labels in the version ``version_id`` (current or not)."""
    return int(session.scalar(text("SELECT count(*) FROM weak_supervision_result WHERE version_id = :v"), {"v": version_id}) or 0)
