"""record_label_association: drop the foreign keys on project_id and labeling_task_id

Every row also references its record and its label, and those cascade from the project and the task, so deleting a
project or a task still deletes its associations. The two checks cost Postgres about a quarter of the time of
storing heuristic results (~2 of ~8.7 CPU-seconds for 136,235 rows); see docs/benchmarks.md, "Labeling functions".

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_constraint("fk_record_label_association_project_id_project", "record_label_association", type_="foreignkey")
    op.drop_constraint(
        "fk_record_label_association_labeling_task_id_labeling_task", "record_label_association", type_="foreignkey"
    )


def downgrade() -> None:
    op.create_foreign_key(
        "fk_record_label_association_project_id_project",
        "record_label_association",
        "project",
        ["project_id"],
        ["id"],
        ondelete="CASCADE",
    )
    op.create_foreign_key(
        "fk_record_label_association_labeling_task_id_labeling_task",
        "record_label_association",
        "labeling_task",
        ["labeling_task_id"],
        ["id"],
        ondelete="CASCADE",
    )
