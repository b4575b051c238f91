"""Heuristics' votes, stored as chunks of parallel arrays (table ``heuristic_result``, migration 0005).

Writers collect votes in a :class:`ResultBuffer` and store them with :func:`store_results` (after
:func:`delete_results` in the same transaction when a run replaces the previous results). Readers use
:data:`ASSOCIATIONS`, the view of one row per vote, or the helpers below.
"""

from __future__ import annotations

import uuid
from array import array
from collections.abc import Iterable, Iterator
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
    "INSERT INTO heuristic_result (project_id, labeling_task_id, source_id, label_id, record_ids, first_record_id,"
    " last_record_id, token_starts, token_ends, confidences)"
    " VALUES (%s, %s, %s, %s, %s::bigint[], %s, %s, %s::integer[], %s::integer[], %s::float8[])"
)


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


def store_results(cursor: Any, project_id: uuid.UUID, task_id: uuid.UUID, source_id: uuid.UUID, buffer: ResultBuffer) -> int:
    """Store ``buffer``'s votes for the heuristic ``source_id`` through a DB-API ``cursor``; returns the vote count.

    The database checks every record, label and span (SQLSTATE 23503/23514, nothing of the statement stored).
    """
    for label_id, arrays in buffer.chunks():
        cursor.execute(_INSERT, (str(project_id), str(task_id), str(source_id), str(label_id), *arrays))
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
    """Remove every vote of the heuristic ``source_id`` (before a run's new ones are stored).

    The project's lock is taken (shared) before the chunks are: a record delete of the project, which takes it
    exclusively and then rewrites chunks, could otherwise wait for these chunks while this transaction waits for it.
    """
    session.execute(
        text("SELECT pg_advisory_xact_lock_shared(:c, hashtext(project_id::text)) FROM information_source WHERE id = :s"),
        {"c": LOCK_CLASS, "s": source_id},
    )
    session.execute(text("DELETE FROM heuristic_result WHERE source_id = :s"), {"s": source_id})


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
