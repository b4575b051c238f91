"""label_history: every change of an annotator's manual labels (who, when, record, task, old -> new, via what)

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "label_history",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("project_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("record_id", sa.BigInteger(), nullable=False),
        sa.Column("labeling_task_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("annotator_id", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column("changed_by", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column("via", sa.String(length=20), nullable=False),
        sa.Column("old_labels", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("new_labels", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"], name="fk_label_history_project_id_project", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["labeling_task_id"],
            ["labeling_task.id"],
            name="fk_label_history_labeling_task_id_labeling_task",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["annotator_id"], ["app_user.id"], name="fk_label_history_annotator_id_app_user", ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["changed_by"], ["app_user.id"], name="fk_label_history_changed_by_app_user", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_label_history"),
    )
    op.create_index("ix_label_history_record", "label_history", ["record_id", "labeling_task_id"])
    op.create_index("ix_label_history_project_annotator", "label_history", ["project_id", "annotator_id", "id"])
    op.create_index("ix_label_history_labeling_task_id", "label_history", ["labeling_task_id"])


def downgrade() -> None:
    op.drop_table("label_history")
