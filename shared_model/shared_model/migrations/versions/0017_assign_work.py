"""work_assignment, work_assignment_annotator, work_assignment_item: work for annotators (their queues)

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

UUID = postgresql.UUID(as_uuid=True)


def upgrade() -> None:
    op.create_table(
        "work_assignment",
        sa.Column("id", UUID, server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("project_id", UUID, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("source", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("labeling_task_id", UUID, nullable=True),
        sa.Column("redundancy", sa.Integer(), nullable=False),
        sa.Column("bias_guard", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("created_by", UUID, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["project.id"], name=op.f("fk_work_assignment_project_id_project"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["labeling_task_id"],
            ["labeling_task.id"],
            name=op.f("fk_work_assignment_labeling_task_id_labeling_task"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["app_user.id"], name=op.f("fk_work_assignment_created_by_app_user"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_assignment")),
    )
    op.create_index(op.f("ix_work_assignment_project_id"), "work_assignment", ["project_id"])
    op.create_table(
        "work_assignment_annotator",
        sa.Column("assignment_id", UUID, nullable=False),
        sa.Column("annotator_id", UUID, nullable=False),
        sa.Column("due_count", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("commented_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["assignment_id"],
            ["work_assignment.id"],
            name=op.f("fk_work_assignment_annotator_assignment_id_work_assignment"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["annotator_id"],
            ["app_user.id"],
            name=op.f("fk_work_assignment_annotator_annotator_id_app_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("assignment_id", "annotator_id", name=op.f("pk_work_assignment_annotator")),
    )
    op.create_index(op.f("ix_work_assignment_annotator_annotator_id"), "work_assignment_annotator", ["annotator_id"])
    op.create_table(
        "work_assignment_item",
        sa.Column("assignment_id", UUID, nullable=False),
        sa.Column("annotator_id", UUID, nullable=False),
        sa.Column("record_id", sa.BigInteger(), nullable=False),
        sa.Column("project_id", UUID, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Boolean(), server_default="false", nullable=False),
        sa.ForeignKeyConstraint(
            ["assignment_id"],
            ["work_assignment.id"],
            name=op.f("fk_work_assignment_item_assignment_id_work_assignment"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["annotator_id"], ["app_user.id"], name=op.f("fk_work_assignment_item_annotator_id_app_user"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["record_id"], ["record.id"], name=op.f("fk_work_assignment_item_record_id_record"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["project.id"], name=op.f("fk_work_assignment_item_project_id_project"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("assignment_id", "annotator_id", "record_id", name=op.f("pk_work_assignment_item")),
    )
    op.create_index("ix_work_assignment_item_scope", "work_assignment_item", ["project_id", "annotator_id", "record_id"])


def downgrade() -> None:
    op.drop_table("work_assignment_item")
    op.drop_table("work_assignment_annotator")
    op.drop_table("work_assignment")
