"""Heuristics' votes, stored as chunks of parallel arrays (migration 0005), versioned per run (migration 0011).

The chunks of every version are in ``heuristic_result_chunk``; ``heuristic_result_current`` names each heuristic's
current version, and the view ``heuristic_result`` shows only the current versions' chunks: readers read that view,
:data:`ASSOCIATIONS` (one row per vote, over it) or the helpers below.

Writers collect votes in a :class:`ResultBuffer`. A run (the executor's) stores them under a version of its own with
:func:`store_results` (``version_id``: each chunk may commit on its own, unseen by readers), then makes that version
current with :func:`switch_version` (one short transaction) and removes superseded versions with
:func:`collect_garbage`. Writers that replace the results in one transaction of their own use :func:`delete_results`
and :func:`store_results` without a version: both act on the current version.
"""

from __future__ import annotations

import uuid
from array import array
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

# One row per vote: project_id, labeling_task_id, source_id, label_id, record_id, token_start, token_end,
# confidence (1.0 where none was stored), created_at, chunk_id.
ASSOCIATIONS = "heuristic_association"
CHUNK_IDS = 100_000  # votes per stored chunk at most (one array of 800 kB)
# The advisory lock (class, then the project's hash) that serializes storing votes and deleting records of one
# project (migration 0005): writers hold it shared, the record-delete trigger exclusively.
LOCK_CLASS = 5005
INT32_MAX = 2**31 - 1

_INSERT = (
    "INSERT INTO heuristic_result_chunk (project_id, labeling_task_id, source_id, label_id, record_ids, first_record_id,"
    " last_record_id, token_starts, token_ends, confidences, version_id)"
    " VALUES (%s, %s, %s, %s, %s::bigint[], %s, %s, %s::integer[], %s::integer[], %s::float8[],"
    " coalesce(%s::uuid, heuristic_result_version(%s::uuid)))"
)
# Chunks no reader sees: of versions that are not current and not of a run still queued or running (failed,
# cancelled or killed runs, superseded results); a few at a time (see collect_garbage).
_GARBAGE = (
    "DELETE FROM heuristic_result_chunk WHERE id IN (SELECT c.id FROM heuristic_result_chunk c"
    " LEFT JOIN heuristic_result_current p ON p.source_id = c.source_id"
    " WHERE c.source_id = :s AND c.version_id IS DISTINCT FROM p.version_id"
    " AND NOT EXISTS (SELECT 1 FROM heuristic_run r WHERE r.id = c.version_id AND r.state IN ('QUEUED', 'RUNNING'))"
    " LIMIT :n FOR UPDATE OF c SKIP LOCKED)"
)
GARBAGE_CHUNKS = 20  # chunks deleted per transaction by collect_garbage


def _literal(values: Iterable[Any]) -> str:
    """An array literal ``{1,2,3}`` (numbers only: no quoting needed), built in C."""
    return "{" + ",".join(map(repr, values)) + "}"


@dataclass
class _LabelVotes:
    record_ids: array[int] = field(default_factory=lambda: array("q"))
    starts: array[int] | None = None
    ends: array[int] | None = None
    confidences: array[float] | None = None


class ResultBuffer:
    """A heuristic's votes by label, gathered in compact arrays until they are stored.

    A vote has a record, a label, for extraction a token span ``[start, end)``, and a confidence (1.0 unless
    given). Within one label, either every vote has a span or none has.
    """

    def __init__(self) -> None:
        self._labels: dict[uuid.UUID, _LabelVotes] = {}
        self.count = 0

    def __len__(self) -> int:
        return self.count

    def _votes(self, label_id: uuid.UUID, spans: bool) -> _LabelVotes:
        votes = self._labels.get(label_id)
        if votes is None:
            votes = self._labels[label_id] = _LabelVotes()
            if spans:
                votes.starts, votes.ends = array("i"), array("i")
        elif (votes.starts is not None) != spans:
            raise ValueError(f"label {label_id}: votes with and without spans cannot be mixed")
        return votes

    def add_records(self, label_id: uuid.UUID, record_ids: Iterable[int]) -> None:
        """Votes for ``label_id`` on whole records, confidence 1.0."""
        votes = self._votes(label_id, False)
        before = len(votes.record_ids)
        votes.record_ids.extend(record_ids)
        added = len(votes.record_ids) - before
        if votes.confidences is not None:
            votes.confidences.extend([1.0] * added)
        self.count += added

    def add(
        self,
        record_id: int,
        label_id: uuid.UUID,
        start: int | None = None,
        end: int | None = None,
        confidence: float | None = None,
    ) -> None:
        """One vote (a span when ``start``/``end`` are given)."""
        spans = start is not None
        if spans and not (-INT32_MAX <= int(start or 0) <= INT32_MAX and -INT32_MAX <= int(end or 0) <= INT32_MAX):
            raise ValueError(f"record {record_id}: span [{start}, {end}) has token positions beyond 2**31-1")
        votes = self._votes(label_id, spans)
        votes.record_ids.append(record_id)
        if votes.starts is not None and votes.ends is not None:
            votes.starts.append(int(start or 0))
            votes.ends.append(int(end or 0))
        if confidence is not None and confidence != 1.0 and votes.confidences is None:
            votes.confidences = array("d", [1.0] * (len(votes.record_ids) - 1))
        if votes.confidences is not None:
            votes.confidences.append(1.0 if confidence is None else float(confidence))
        self.count += 1

    def take(self) -> ResultBuffer:
        """The votes gathered so far, as a buffer of their own; this one starts empty."""
        taken = ResultBuffer()
        taken._labels, taken.count = self._labels, self.count
        self._labels, self.count = {}, 0
        return taken

    def record_ids(self) -> set[int]:
        """Every record with a vote."""
        return {record_id for votes in self._labels.values() for record_id in votes.record_ids}

    def only(self, keep: set[int]) -> ResultBuffer:
        """A buffer of the votes on the records ``keep`` (the others left out)."""
        kept = ResultBuffer()
        for label_id, votes in self._labels.items():
            at = [i for i, record_id in enumerate(votes.record_ids) if record_id in keep]
            if not at:
                continue
            piece = _LabelVotes(array("q", (votes.record_ids[i] for i in at)))
            if votes.starts is not None and votes.ends is not None:
                piece.starts = array("i", (votes.starts[i] for i in at))
                piece.ends = array("i", (votes.ends[i] for i in at))
            if votes.confidences is not None:
                piece.confidences = array("d", (votes.confidences[i] for i in at))
            kept._labels[label_id] = piece
            kept.count += len(at)
        return kept

    def parts(self, size: int = CHUNK_IDS) -> list[ResultBuffer]:
        """The votes cut into buffers of at most one chunk of ``size`` votes per label (a chunk to a transaction)."""
        parts: list[ResultBuffer] = []
        for label_id, votes in self._labels.items():
            for at in range(0, len(votes.record_ids), size):
                part = slice(at, at + size)
                piece = _LabelVotes(votes.record_ids[part])
                if votes.starts is not None and votes.ends is not None:
                    piece.starts, piece.ends = votes.starts[part], votes.ends[part]
                if votes.confidences is not None:
                    piece.confidences = votes.confidences[part]
                buffer = ResultBuffer()
                buffer._labels[label_id] = piece
                buffer.count = len(piece.record_ids)
                parts.append(buffer)
        return parts

    def chunks(self) -> Iterator[tuple[uuid.UUID, list[Any]]]:
        """``(label_id, [record_ids, first id, last id, starts, ends, confidences])`` of at most :data:`CHUNK_IDS`
        votes each (the arrays as literals)."""
        for label_id, votes in self._labels.items():
            for at in range(0, len(votes.record_ids), CHUNK_IDS):
                part = slice(at, at + CHUNK_IDS)
                ids = votes.record_ids[part]
                yield (
                    label_id,
                    [
                        _literal(ids),
                        min(ids),
                        max(ids),
                        None if votes.starts is None else _literal(votes.starts[part]),
                        None if votes.ends is None else _literal(votes.ends[part]),
                        None if votes.confidences is None else _literal(votes.confidences[part]),
                    ],
                )


def store_results(
    cursor: Any,
    project_id: uuid.UUID,
    task_id: uuid.UUID,
    source_id: uuid.UUID,
    buffer: ResultBuffer,
    version_id: uuid.UUID | None = None,
) -> int:
    """Store ``buffer``'s votes for the heuristic ``source_id`` through a DB-API ``cursor``; returns the vote count.

    Without ``version_id`` they join the heuristic's current version (one is made if it has none); with it, that
    version, which readers see once :func:`switch_version` makes it current. The database checks every record,
    label and span (SQLSTATE 23503/23514, nothing of the statement stored).
    """
    version = None if version_id is None else str(version_id)
    for label_id, arrays in buffer.chunks():
        cursor.execute(_INSERT, (str(project_id), str(task_id), str(source_id), str(label_id), *arrays, version, str(source_id)))
    return buffer.count


def store_session_results(
    session: Session, project_id: uuid.UUID, task_id: uuid.UUID, source_id: uuid.UUID, buffer: ResultBuffer
) -> int:
    """:func:`store_results` in an ORM ``session``'s transaction."""
    session.flush()
    cursor = session.connection().connection.cursor()
    try:
        return store_results(cursor, project_id, task_id, source_id, buffer)
    finally:
        cursor.close()


def delete_results(session: Session, source_id: uuid.UUID) -> None:
    """Remove every vote of the heuristic's current version (before new ones are stored in the same transaction).

    The project's lock is taken (shared) before the chunks are: a record delete of the project, which takes it
    exclusively and then rewrites chunks, could otherwise wait for these chunks while this transaction waits for it.
    """
    session.execute(
        text("SELECT pg_advisory_xact_lock_shared(:c, hashtext(project_id::text)) FROM information_source WHERE id = :s"),
        {"c": LOCK_CLASS, "s": source_id},
    )
    session.execute(
        text(
            "DELETE FROM heuristic_result_chunk WHERE source_id = :s"
            " AND version_id = (SELECT version_id FROM heuristic_result_current WHERE source_id = :s)"
        ),
        {"s": source_id},
    )


def switch_version(session: Session, source_id: uuid.UUID, version_id: uuid.UUID) -> None:
    """Make ``version_id`` the heuristic's current version (in the caller's transaction: one row is written,
    whatever the number of votes). Readers see the new votes, and no longer the old ones, when it commits."""
    session.execute(
        text(
            "INSERT INTO heuristic_result_current (source_id, version_id) VALUES (:s, :v) ON CONFLICT (source_id)"
            " DO UPDATE SET version_id = EXCLUDED.version_id, switched_at = now()"
        ),
        {"s": source_id, "v": version_id},
    )


def collect_garbage(session_factory: Callable[[], Session], source_id: uuid.UUID, lock_timeout_s: float = 5.0) -> int:
    """Delete the heuristic's chunks that no reader sees and no running run still writes (superseded versions,
    failed, cancelled or killed runs), :data:`GARBAGE_CHUNKS` per short transaction; returns how many went. Chunks
    locked by another transaction are left for a later collection."""
    removed = 0
    while True:
        session = session_factory()
        try:
            session.execute(text(f"SET LOCAL lock_timeout = '{int(lock_timeout_s * 1000)}ms'"))
            deleted = len(session.execute(text(_GARBAGE + " RETURNING id"), {"s": source_id, "n": GARBAGE_CHUNKS}).all())
            session.commit()
        finally:
            session.close()
        removed += deleted
        if deleted < GARBAGE_CHUNKS:
            return removed


def version_chunk_count(session: Session, source_id: uuid.UUID, version_id: uuid.UUID) -> int:
    """How many chunks the heuristic's version ``version_id`` has stored (current or not)."""
    count = session.scalar(
        text("SELECT count(*) FROM heuristic_result_chunk WHERE source_id = :s AND version_id = :v"),
        {"s": source_id, "v": version_id},
    )
    return int(count or 0)


def result_count(session: Session, source_id: uuid.UUID) -> int:
    """How many votes the heuristic ``source_id`` has stored."""
    count = session.scalar(
        text("SELECT coalesce(sum(cardinality(record_ids)), 0) FROM heuristic_result WHERE source_id = :s"),
        {"s": source_id},
    )
    return int(count or 0)


def result_counts(session: Session, *, label_id: uuid.UUID | None = None, task_id: uuid.UUID | None = None) -> int:
    """How many votes of all heuristics name ``label_id`` or belong to ``task_id``."""
    column, value = ("label_id", label_id) if label_id is not None else ("labeling_task_id", task_id)
    count = session.scalar(
        text(f"SELECT coalesce(sum(cardinality(record_ids)), 0) FROM heuristic_result WHERE {column} = :v"),
        {"v": value},
    )
    return int(count or 0)


def record_votes(
    session: Session, project_id: uuid.UUID, record_id: int, task_id: uuid.UUID | None = None
) -> list[dict[str, Any]]:
    """Every heuristic vote on one record (optionally of one task), ordered by task, heuristic and span; ``position``
    is the vote's place in its chunk (1-based). Only chunks whose id range holds the record are read."""
    rows = session.execute(
        text(
            "SELECT h.labeling_task_id, h.source_id, h.label_id, h.token_starts[p] AS token_start,"
            " h.token_ends[p] AS token_end, coalesce(h.confidences[p], 1.0) AS confidence, h.created_at,"
            " h.id AS chunk_id, p AS position"
            " FROM heuristic_result h CROSS JOIN LATERAL unnest(array_positions(h.record_ids, CAST(:r AS bigint))) AS p"
            " WHERE h.project_id = :p AND h.first_record_id <= :r AND h.last_record_id >= :r"
            " AND (CAST(:t AS uuid) IS NULL OR h.labeling_task_id = CAST(:t AS uuid))"
            " ORDER BY h.labeling_task_id, h.created_at, h.source_id, h.token_starts[p]"
        ),
        {"p": project_id, "r": record_id, "t": task_id},
    ).mappings()
    return [dict(row) for row in rows]


def vote_id(source_id: uuid.UUID, chunk_id: int, position: int) -> uuid.UUID:
    """An id for one vote (votes have no row of their own): its chunk and place in it, stable until the heuristic's
    results are replaced (as a row's id was) — two equal votes get two ids."""
    return uuid.uuid5(source_id, f"{chunk_id}:{position}")
