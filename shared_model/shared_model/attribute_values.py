"""Calculated attribute values, versioned per run (migration 0021), as heuristic votes are (``heuristic_results``).

A calculation writes its values as chunks of its own version (its job's id) while it runs, each chunk in a short
transaction of its own (:class:`ChunkWriter`); nobody reads them. When it succeeds, one short transaction makes its
version current (:func:`switch_version`). ``record.data`` — what every reader reads — is then brought to the current
version one chunk per transaction (:func:`materialize`; ``materialized_through`` says how far it got, so a process
that dies meanwhile leaves work that the next calculation of the attribute resumes). A calculation that fails, is
cancelled or dies before the switch changes nothing readers see; its chunks, those of superseded versions and those
already materialized are garbage (:func:`collect_garbage`).

Readers of ``record.data`` see the new values range by range while the materialization runs (one chunk per
transaction, seconds in all at a million records), never a value of a run that has not finished.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import text

from .db import session_scope

CHUNK_VALUES = 5_000  # values per chunk (one short transaction each)
GARBAGE_CHUNKS = 20  # chunks deleted per transaction by collect_garbage

_INSERT = (
    "INSERT INTO attribute_value_chunk (attribute_id, version_id, first_record_id, last_record_id, record_ids,"
    " record_values) VALUES (:a, :v, :first, :last, CAST(:ids AS bigint[]), CAST(:vals AS jsonb))"
)
_GARBAGE = (
    "DELETE FROM attribute_value_chunk WHERE id IN (SELECT c.id FROM attribute_value_chunk c"
    " LEFT JOIN attribute_value_current p ON p.attribute_id = c.attribute_id"
    " WHERE c.attribute_id = :a AND ((c.version_id = p.version_id AND p.materialized_through IS NULL)"
    " OR (c.version_id IS DISTINCT FROM p.version_id"
    " AND NOT EXISTS (SELECT 1 FROM job j WHERE j.id = c.version_id AND j.state IN ('queued', 'running'))))"
    " LIMIT :n FOR UPDATE OF c SKIP LOCKED)"
)


class ChunkWriter:
    """Values of one version, written in chunks of :data:`CHUNK_VALUES` (records in increasing id order), each in a
    transaction of its own. ``longest_s``: the longest of those transactions."""

    def __init__(self, attribute_id: uuid.UUID, version_id: uuid.UUID, chunk_values: int | None = None) -> None:
        self.attribute_id = attribute_id
        self.version_id = version_id
        self.chunk_values = chunk_values or CHUNK_VALUES
        self.pending: list[tuple[int, Any]] = []
        self.written = 0
        self.chunks = 0
        self.longest_s = 0.0

    def add(self, record_id: int, value: Any) -> None:
        self.pending.append((record_id, value))
        if len(self.pending) >= self.chunk_values:
            self.flush()

    def flush(self) -> None:
        """Write what is pending as one chunk."""
        if not self.pending:
            return
        pairs = sorted(self.pending)
        started = time.monotonic()
        with session_scope() as session:
            session.execute(
                text(_INSERT),
                {
                    "a": self.attribute_id,
                    "v": self.version_id,
                    "first": pairs[0][0],
                    "last": pairs[-1][0],
                    "ids": "{" + ",".join(str(int(i)) for i, _ in pairs) + "}",
                    "vals": json.dumps([value for _, value in pairs]),
                },
            )
        self.longest_s = max(self.longest_s, time.monotonic() - started)
        self.written += len(pairs)
        self.chunks += 1
        self.pending = []


def switch_version(session: Any, attribute_id: uuid.UUID, version_id: uuid.UUID) -> None:
    """Make ``version_id`` the attribute's current version (in the caller's short transaction); ``record.data`` is
    brought to it by :func:`materialize`."""
    session.execute(
        text(
            "INSERT INTO attribute_value_current (attribute_id, version_id, materialized_through)"
            " VALUES (:a, :v, 0) ON CONFLICT (attribute_id) DO UPDATE SET version_id = EXCLUDED.version_id,"
            " materialized_through = 0, switched_at = now()"
        ),
        {"a": attribute_id, "v": version_id},
    )


def current_version(attribute_id: uuid.UUID) -> tuple[uuid.UUID, int | None] | None:
    """The attribute's current version and how far ``record.data`` holds it (None: all of it); None without one."""
    with session_scope() as session:
        row = session.execute(
            text("SELECT version_id, materialized_through FROM attribute_value_current WHERE attribute_id = :a"),
            {"a": attribute_id},
        ).first()
    return None if row is None else (row[0], None if row[1] is None else int(row[1]))


def materialize(attribute_id: uuid.UUID, progress: Callable[[int], None] | None = None) -> int:
    """Write the current version's values into ``record.data``, one chunk per transaction, from where the last
    materialization stopped; returns the chunks written. Materializations of one attribute take turns (the pointer's
    row is locked by each chunk's transaction)."""
    written = 0
    while True:
        with session_scope() as session:
            row = session.execute(
                text(
                    "SELECT p.version_id, p.materialized_through, a.name, a.project_id FROM attribute_value_current p"
                    " JOIN attribute a ON a.id = p.attribute_id WHERE p.attribute_id = :a FOR UPDATE OF p"
                ),
                {"a": attribute_id},
            ).first()
            if row is None or row[1] is None:
                return written
            version_id, through, name, project_id = row
            chunk = session.execute(
                text(
                    "SELECT id, last_record_id FROM attribute_value_chunk WHERE attribute_id = :a AND version_id = :v"
                    " AND first_record_id > :t ORDER BY first_record_id LIMIT 1"
                ),
                {"a": attribute_id, "v": version_id, "t": through},
            ).first()
            if chunk is None:
                session.execute(
                    text("UPDATE attribute_value_current SET materialized_through = NULL WHERE attribute_id = :a"),
                    {"a": attribute_id},
                )
                return written
            session.execute(
                text(
                    "UPDATE record r SET data = r.data || jsonb_build_object(CAST(:name AS text), v.value)"
                    " FROM attribute_value_chunk c, ROWS FROM (unnest(c.record_ids), jsonb_array_elements(c.record_values))"
                    " AS v(record_id, value) WHERE c.id = :c AND r.id = v.record_id AND r.project_id = :p"
                ),
                {"name": name, "c": chunk[0], "p": project_id},
            )
            session.execute(
                text("UPDATE attribute_value_current SET materialized_through = :t WHERE attribute_id = :a"),
                {"a": attribute_id, "t": chunk[1]},
            )
        written += 1
        if progress is not None:
            progress(written)


def collect_garbage(attribute_id: uuid.UUID) -> int:
    """Delete the attribute's chunks no one needs (superseded versions, runs that failed, were cancelled or died,
    and the current version's once ``record.data`` holds them), :data:`GARBAGE_CHUNKS` per short transaction;
    chunks of a queued or running calculation are kept. Returns how many went."""
    removed = 0
    while True:
        with session_scope() as session:
            deleted = len(session.execute(text(_GARBAGE + " RETURNING id"), {"a": attribute_id, "n": GARBAGE_CHUNKS}).all())
        removed += deleted
        if deleted < GARBAGE_CHUNKS:
            return removed


def chunk_count(attribute_id: uuid.UUID, version_id: uuid.UUID | None = None) -> int:
    """How many chunks the attribute has stored (of ``version_id`` only, when given)."""
    with session_scope() as session:
        count = session.scalar(
            text(
                "SELECT count(*) FROM attribute_value_chunk WHERE attribute_id = :a"
                " AND (CAST(:v AS uuid) IS NULL OR version_id = CAST(:v AS uuid))"
            ),
            {"a": attribute_id, "v": version_id},
        )
    return int(count or 0)
