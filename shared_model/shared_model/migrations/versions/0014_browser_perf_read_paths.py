"""Data browser read paths: weak-supervision labels of a task in confidence order.

- ``ix_rla_ws_confidence``: ``(labeling_task_id, confidence, record_id)`` on weak-supervision rows, so sorting the
  browser by a classification task's confidence reads the first page in index order (forward or backward, ties by
  an incremental sort) instead of aggregating and sorting every record's confidence.

Per-project expression indexes on attributes are not part of the schema: the gateway creates them on demand
(``gateway.domain.browser.attribute_indexes``).

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_rla_ws_confidence",
        "record_label_association",
        ["labeling_task_id", "confidence", "record_id"],
        postgresql_where="source_type = 'WEAK_SUPERVISION'",
    )


def downgrade() -> None:
    op.drop_index("ix_rla_ws_confidence", table_name="record_label_association")
