"""record_tokenized: drop the foreign key on project_id

Every row also references its record, which cascades from the project, so deleting a project still deletes its
DocBins (and the index on project_id stays for the per-project reads). The redundant per-row check cost Postgres
~0.6 of ~4.2 CPU-seconds of a 100,000-record tokenize job; see docs/benchmarks.md, "Tokenization".

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_constraint("fk_record_tokenized_project_id_project", "record_tokenized", type_="foreignkey")


def downgrade() -> None:
    op.create_foreign_key(
        "fk_record_tokenized_project_id_project",
        "record_tokenized",
        "project",
        ["project_id"],
        ["id"],
        ondelete="CASCADE",
    )
