"""The data browser at 1M records: a trigram function for substring indexes, partial indexes for label counts

``browser_trigrams(text)``: the distinct three-character substrings of a text (pg_trgm is not available in every
PostgreSQL this runs on, e.g. the embedded one). The browser builds per-project GIN indexes over
``browser_trigrams(lower(data ->> attribute))`` for TEXT attributes searched by substring (CONTAINS, BEGINS_WITH,
ENDS_WITH, IN_WC) and adds "the value's trigrams contain the pattern's" to such a condition: a necessary condition
(a value containing a literal part of the pattern contains each of its trigrams), so the result is the same, found
through the index instead of reading every record's JSON.

``ix_record_task_label_decided`` / ``ix_record_task_label_manual``: partial indexes for the counts of manually
labeled records (the progress metric per task, ``GET /projects`` per project) without reading the weak-supervision
rows of every record.

Revision ID: 0022
Revises: 0021
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

TRIGRAMS = """
CREATE OR REPLACE FUNCTION browser_trigrams(value text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(DISTINCT substr(value, i, 3)), '{}'::text[])
    FROM generate_series(1, length(value) - 2) AS i
$$
"""


def upgrade() -> None:
    op.execute(TRIGRAMS)
    op.create_index(
        "ix_record_task_label_decided",
        "record_task_label",
        ["labeling_task_id", "record_id"],
        postgresql_where=sa.text("decided IS NOT NULL"),
    )
    op.create_index(
        "ix_record_task_label_manual", "record_task_label", ["project_id", "record_id"], postgresql_where=sa.text("manual")
    )


def downgrade() -> None:
    op.drop_index("ix_record_task_label_manual", table_name="record_task_label")
    op.drop_index("ix_record_task_label_decided", table_name="record_task_label")
    op.execute(  # the browser's per-project trigram indexes use the function
        "DO $$ DECLARE name text; BEGIN FOR name IN SELECT indexrelid::regclass::text FROM pg_index"
        " WHERE pg_get_indexdef(indexrelid) LIKE '%browser_trigrams(%' LOOP EXECUTE 'DROP INDEX ' || name; END LOOP; END $$"
    )
    op.execute("DROP FUNCTION IF EXISTS browser_trigrams(text)")
