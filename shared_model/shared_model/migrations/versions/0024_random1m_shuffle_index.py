"""The data browser's random order at 1M records: a fixed shuffle key per record, indexed per project

``sort by=random`` computed a pseudo-random key from the seed for every matching record and sorted them all
(0.7–1.9 s at 1M records). ``ix_record_project_shuffle`` on ``(project_id, hashint8(id), id)`` orders each project's
records by a fixed pseudo-random key, Postgres's 32-bit hash of the record id; the seed picks an offset in the key's
range and a page is read from the index: the keys at or after the offset, then (wrapping around) those before it.

An expression index rather than a stored column: the key is a function of the id, so every write path (upload, SDK,
snapshot import, sample projects, raw SQL) has it without setting it, an edit cannot change it, and the existing
records need no backfill (no rewrite of every row of ``record``); building the index reads the table once.

``ix_record_task_label_ws_version`` on ``(labeling_task_id, ws_version)``: the data browser finds the read model's
rows whose ``differ`` was computed against another weak-supervision version than the current one (a manual label
written across a switch) with an index probe, and recomputes them before it reads the flags.

Revision ID: 0024
Revises: 0023
"""

from __future__ import annotations

from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE INDEX ix_record_project_shuffle ON record (project_id, hashint8(id), id)")
    op.create_index("ix_record_task_label_ws_version", "record_task_label", ["labeling_task_id", "ws_version"])


def downgrade() -> None:
    op.drop_index("ix_record_task_label_ws_version", table_name="record_task_label")
    op.drop_index("ix_record_project_shuffle", table_name="record")
