"""Data browser: labeling sessions, the heuristic-vote summary read model, data_slice.updated_at

- ``labeling_session``: an ordered list of record ids to label and the position reached in it;
- ``heuristic_vote_summary`` (+ ``_state``): per (task, record) the number of heuristics that voted, of distinct
  labels they gave, and the votes as integer codes, rebuilt per task by the gateway when the task's
  ``heuristic_result`` fingerprint changed; it turns "no heuristic voted", "heuristics disagree" and "heuristic X
  voted Y" into lookups of one row per record (a partial index holds the disagreements);
- ``data_slice.updated_at``: when a slice's filter or frozen records last changed.

Revision ID: 0010
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "data_slice", sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False)
    )
    op.create_table(
        "labeling_session",
        sa.Column("id", postgresql.UUID(as_uuid=True), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("project_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("created_by", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("source", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("record_ids", postgresql.ARRAY(sa.BigInteger()), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["app_user.id"], name="fk_labeling_session_created_by_app_user", ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"], name="fk_labeling_session_project_id_project", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_labeling_session"),
    )
    op.create_index("ix_labeling_session_project_id", "labeling_session", ["project_id"])
    op.create_index("ix_labeling_session_created_by", "labeling_session", ["created_by"])
    op.create_table(
        "heuristic_vote_summary",
        sa.Column("labeling_task_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("record_id", sa.BigInteger(), nullable=False),
        sa.Column("heuristics", sa.SmallInteger(), nullable=False),
        sa.Column("labels", sa.SmallInteger(), nullable=False),
        sa.Column("votes", postgresql.ARRAY(sa.Integer()), nullable=False),
        sa.ForeignKeyConstraint(
            ["labeling_task_id"],
            ["labeling_task.id"],
            name="fk_heuristic_vote_summary_labeling_task_id_labeling_task",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("labeling_task_id", "record_id", name="pk_heuristic_vote_summary"),
    )
    op.create_index(
        "ix_heuristic_vote_summary_disagree",
        "heuristic_vote_summary",
        ["labeling_task_id", "record_id"],
        postgresql_where=sa.text("labels > 1"),
    )
    op.create_table(
        "heuristic_vote_summary_state",
        sa.Column("labeling_task_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("fingerprint", sa.String(length=200), nullable=False),
        sa.Column("codes", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("built_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["labeling_task_id"],
            ["labeling_task.id"],
            name="fk_heuristic_vote_summary_state_labeling_task_id_labeling_task",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("labeling_task_id", name="pk_heuristic_vote_summary_state"),
    )


def downgrade() -> None:
    op.drop_table("heuristic_vote_summary_state")
    op.drop_index("ix_heuristic_vote_summary_disagree", table_name="heuristic_vote_summary")
    op.drop_table("heuristic_vote_summary")
    op.drop_index("ix_labeling_session_created_by", table_name="labeling_session")
    op.drop_index("ix_labeling_session_project_id", table_name="labeling_session")
    op.drop_table("labeling_session")
    op.drop_column("data_slice", "updated_at")
