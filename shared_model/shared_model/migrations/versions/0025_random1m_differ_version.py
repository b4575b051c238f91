"""The read model's rows by weak-supervision version: stale "manual and WS differ" flags found by an index probe

``ix_record_task_label_ws_version`` on ``(labeling_task_id, ws_version)``: the data browser finds the rows of
``record_task_label`` whose ``differ`` was computed against another weak-supervision version than the current one (a
manual label written across a switch by a transaction whose snapshot predates it) and recomputes them before it
reads the flags (``gateway.domain.browser.weak_labels.ensure_differ``).

(The data browser's random order needs no migration: its shuffle key is ``hashint8(id)``, a function of the record
id, and a large project's index over it is built on first use like the attribute indexes.)

Revision ID: 0025
Revises: 0024
"""

from __future__ import annotations

from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_record_task_label_ws_version", "record_task_label", ["labeling_task_id", "ws_version"])


def downgrade() -> None:
    op.drop_index("ix_record_task_label_ws_version", table_name="record_task_label")
