"""label_history: gold-star changes and labels removed by deleting a label or a task are kept too

``event`` says what an entry records: ``LABELS`` (the annotator's labels changed; every entry so far),
``GOLD_STAR_SET`` / ``GOLD_STAR_WITHDRAWN`` (their labels became, or stopped being, the gold standard; labels unchanged),
``LABEL_DELETED`` / ``TASK_DELETED`` (their labels went with a deleted label or task). The foreign key to
``labeling_task`` goes, as ``record_id`` has none: a deleted task's history stays an audit trail (its entries say the
labels were removed by the deletion); a project's still goes with the project.

Revision ID: 0020
Revises: 0019
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("label_history", sa.Column("event", sa.String(length=20), server_default="LABELS", nullable=False))
    op.drop_constraint("fk_label_history_labeling_task_id_labeling_task", "label_history", type_="foreignkey")


def downgrade() -> None:
    op.execute("DELETE FROM label_history h WHERE NOT EXISTS (SELECT 1 FROM labeling_task t WHERE t.id = h.labeling_task_id)")
    op.create_foreign_key(
        "fk_label_history_labeling_task_id_labeling_task",
        "label_history",
        "labeling_task",
        ["labeling_task_id"],
        ["id"],
        ondelete="CASCADE",
    )
    op.drop_column("label_history", "event")
