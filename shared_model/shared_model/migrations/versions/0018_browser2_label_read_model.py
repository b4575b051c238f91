"""record_task_label: per (record, labeling task) the decided manual labels and the weak-supervision labels, kept
current by statement triggers on ``record_label_association``

The data browser's "manual and weak supervision differ" full-joined the task's valid manual rows with its
weak-supervision rows on every query (1.5–3 s at 300k records), and ``GET /projects`` counted distinct records over
every label row. One row per (record, task) that has any label now holds:

- ``manual``: some annotator labeled it (any manual row);
- ``decided``: the decided (valid) manual labels as sorted ``label:start:end`` texts (NULL: none decided);
- ``weak``: the weak-supervision labels the same way (NULL: none), ``ws_confidence`` their highest confidence;
- ``differ``: both are there and not the same set (the browser's condition, indexed partially).

It is written by statement triggers with transition tables (one refresh per statement, not per row) on INSERT,
UPDATE and DELETE of ``record_label_association``, so every writer is covered without touching its code: manual
labels, relabels, clears, bulk labels, gold stars, the resolution rule (it updates ``is_valid_manual_label``),
weak-supervision runs, snapshot import, and record / task / project deletes (their associations are deleted by the
triggers of migration 0004; the rows here also cascade). The refresh takes a transaction-level advisory lock per
touched task (in order) and then recomputes the pairs from ``record_label_association`` in later statements (an
upsert that skips unchanged rows, and a delete of pairs left without labels), whose snapshots (READ COMMITTED) see
what a concurrent writer of the same task committed while this one waited: the last writer's refresh sees both
writes. Label writes of one task are so serialized from their trigger to their commit.

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

LOCK_CLASS = 5018  # pg_advisory_xact_lock(class, hashtext(task id)): one refresh of a task's pairs at a time

FUNCTIONS = """
CREATE FUNCTION record_task_label_apply(tasks uuid[], records bigint[]) RETURNS void LANGUAGE plpgsql
SET search_path = {path} AS $$
BEGIN
    -- one refresh of a task at a time (tasks in order); the statements below take new snapshots, so they see what a
    -- concurrent writer of the same task committed while this one waited
    PERFORM pg_advisory_xact_lock({lock_class}, hashtext(t::text))
    FROM (SELECT DISTINCT t FROM unnest(tasks) AS u(t) ORDER BY t) o;
    INSERT INTO record_task_label AS l (labeling_task_id, record_id, project_id, manual, decided, weak, ws_confidence, differ)
    SELECT s.t, s.r, s.project_id, s.manual, s.decided, s.weak, s.conf, coalesce(s.decided <> s.weak, false)
    FROM (
        SELECT p.t, p.r, min(a.project_id::text)::uuid AS project_id,
            bool_or(a.source_type = 'MANUAL') AS manual,
            array_agg(DISTINCT a.label_id::text || ':' || coalesce(a.token_start, -1) || ':' || coalesce(a.token_end, -1))
                FILTER (WHERE a.source_type = 'MANUAL' AND a.is_valid_manual_label) AS decided,
            array_agg(DISTINCT a.label_id::text || ':' || coalesce(a.token_start, -1) || ':' || coalesce(a.token_end, -1))
                FILTER (WHERE a.source_type = 'WEAK_SUPERVISION') AS weak,
            max(a.confidence) FILTER (WHERE a.source_type = 'WEAK_SUPERVISION') AS conf
        FROM unnest(tasks, records) AS p(t, r)
        JOIN record_label_association a ON a.labeling_task_id = p.t AND a.record_id = p.r
        GROUP BY p.t, p.r
    ) s
    WHERE s.manual OR s.weak IS NOT NULL
    ORDER BY s.t, s.r
    ON CONFLICT (labeling_task_id, record_id) DO UPDATE
    SET manual = EXCLUDED.manual, decided = EXCLUDED.decided, weak = EXCLUDED.weak,
        ws_confidence = EXCLUDED.ws_confidence, differ = EXCLUDED.differ
    WHERE (l.manual, l.decided, l.weak, l.ws_confidence, l.differ)
        IS DISTINCT FROM (EXCLUDED.manual, EXCLUDED.decided, EXCLUDED.weak, EXCLUDED.ws_confidence, EXCLUDED.differ);
    DELETE FROM record_task_label l USING unnest(tasks, records) AS p(t, r)
    WHERE l.labeling_task_id = p.t AND l.record_id = p.r
        AND NOT EXISTS (
            SELECT 1 FROM record_label_association a
            WHERE a.labeling_task_id = p.t AND a.record_id = p.r AND a.source_type IN ('MANUAL', 'WEAK_SUPERVISION')
        );
END
$$;
CREATE FUNCTION record_task_label_refresh() RETURNS trigger LANGUAGE plpgsql SET search_path = {path} AS $$
DECLARE
    tasks uuid[];
    records bigint[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(t ORDER BY t, r), array_agg(r ORDER BY t, r) INTO tasks, records
        FROM (SELECT DISTINCT labeling_task_id AS t, record_id AS r FROM new_rows) p;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(t ORDER BY t, r), array_agg(r ORDER BY t, r) INTO tasks, records
        FROM (SELECT DISTINCT labeling_task_id AS t, record_id AS r FROM old_rows) p;
    ELSE
        SELECT array_agg(t ORDER BY t, r), array_agg(r ORDER BY t, r) INTO tasks, records
        FROM (SELECT labeling_task_id AS t, record_id AS r FROM new_rows
              UNION SELECT labeling_task_id, record_id FROM old_rows) p;
    END IF;
    IF tasks IS NOT NULL THEN
        PERFORM record_task_label_apply(tasks, records);
    END IF;
    RETURN NULL;
END
$$;
"""

TRIGGERS = (
    "CREATE TRIGGER record_task_label_inserts AFTER INSERT ON record_label_association"
    " REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION record_task_label_refresh()",
    "CREATE TRIGGER record_task_label_updates AFTER UPDATE ON record_label_association"
    " REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT"
    " EXECUTE FUNCTION record_task_label_refresh()",
    "CREATE TRIGGER record_task_label_deletes AFTER DELETE ON record_label_association"
    " REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION record_task_label_refresh()",
)


def _search_path() -> str:
    """The migration's schema, then pg_temp last: a session's temporary table cannot shadow ours in a trigger."""
    schema = op.get_bind().exec_driver_sql("SELECT current_schema()").scalar()
    return '"' + str(schema).replace('"', '""') + '", pg_temp'


def upgrade() -> None:
    op.create_table(
        "record_task_label",
        sa.Column("labeling_task_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("record_id", sa.BigInteger(), nullable=False),
        sa.Column("project_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("manual", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("decided", postgresql.ARRAY(sa.Text()), nullable=True),
        sa.Column("weak", postgresql.ARRAY(sa.Text()), nullable=True),
        sa.Column("ws_confidence", sa.Float(), nullable=True),
        sa.Column("differ", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.ForeignKeyConstraint(["labeling_task_id"], ["labeling_task.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["record_id"], ["record.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("labeling_task_id", "record_id"),
    )
    op.create_index("ix_record_task_label_record", "record_task_label", ["record_id"])
    op.create_index("ix_record_task_label_project", "record_task_label", ["project_id", "record_id"])
    op.create_index(
        "ix_record_task_label_differ", "record_task_label", ["labeling_task_id", "record_id"], postgresql_where=sa.text("differ")
    )
    op.execute(FUNCTIONS.format(path=_search_path(), lock_class=LOCK_CLASS))
    for statement in TRIGGERS:
        op.execute(statement)
    op.execute(
        "SELECT record_task_label_apply(array_agg(t ORDER BY t, r), array_agg(r ORDER BY t, r))"
        " FROM (SELECT DISTINCT labeling_task_id AS t, record_id AS r FROM record_label_association) p"
        " HAVING count(*) > 0"
    )


def downgrade() -> None:
    for name in ("inserts", "updates", "deletes"):
        op.execute(f"DROP TRIGGER record_task_label_{name} ON record_label_association")
    op.execute("DROP FUNCTION record_task_label_refresh()")
    op.execute("DROP FUNCTION record_task_label_apply(uuid[], bigint[])")
    op.drop_table("record_task_label")
