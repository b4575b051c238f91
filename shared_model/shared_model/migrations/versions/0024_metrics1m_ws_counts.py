"""Weak-supervision counts kept with each version (issue #17: the overview's metrics at 1M records)

The unscoped metrics (progress, label distribution, confidence histogram) and the project cards counted the current
version's rows (one per record: 1M rows at 1M records, 300-700 ms). Now ``weak_supervision_count`` keeps, per
version, counts that statement triggers on ``weak_supervision_result`` adjust on every write, whoever writes (the
weak supervisor's COPY, the trigger that moves a legacy writer's rows into the current version, the triggers that
remove rows of deleted records and labels, snapshot import, garbage collection):

- label rows (``label_id`` set): ``labels``, the label's entries in the version's ``label_ids`` (spans for
  extraction), and ``signatures``, its entries in ``weak`` (records for classification);
- confidence rows (``label_id`` NULL): ``records``, rows whose highest ``confidence`` has the key ``confidence``,
  and ``labels``, label entries whose confidence has it. The key is the value itself where it lies within 1e-8 of a
  multiple of 0.01, outside (0, 1) or NULL, and otherwise the middle of its hundredth ((floor(c * 100) + 0.5) / 100):
  a histogram whose number of bins divides 100 then puts every key where the exact query puts its values. The sum
  of ``records`` over a version's confidence rows is its number of rows (records with labels).

The table is a log of signed deltas (one row per key a statement changed; never updated, so concurrent writers never
wait on each other); a version's rows are summed when read, and folded into one row per key (rows locked by
another transaction are skipped) once the version has more than ``COMPACT_AT`` of them. Deleting a version removes
its counts.

The manual side of the whole project's metrics (record_task_label's ``decided``, 100,000 rows at 1M records) and the
confusion matrix (those rows joined to the current version's rows) are kept in ``metric_cache`` per task, each with
the marks of what it was computed from: the task's ``record_task_label_mark`` (bumped by statement triggers on every
change to the manual labels of its ``record_task_label`` rows) and its version with that version's last count row (every change to a
version's rows appends one). A figure whose marks differ is computed again.

Existing versions' counts are computed here.

Revision ID: 0024
Revises: 0023
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

COMPACT_AT = 2000  # a version's delta rows before they are folded

# a version's signed rows (``version_id, label_ids, confidences, weak, confidence, s``) -> its count deltas (of
# versions that still exist); rows with one label (most of them: classification) are grouped as they are, their
# signature parsed per group, the others unnested label by label (100,000 rows of one label: 0.27 s at load 12, where
# unnesting every row took 0.8 s)
DELTAS = """
WITH one AS (
    SELECT d.version_id, d.label_ids[1] AS l, d.weak[1] AS w, weak_supervision_confidence_key(d.confidence) AS k,
        sum(d.s) AS n
    FROM ({rows}) d WHERE cardinality(d.label_ids) = 1 AND cardinality(d.weak) = 1 GROUP BY 1, 2, 3, 4
),
many AS (SELECT d.* FROM ({rows}) d WHERE NOT (cardinality(d.label_ids) = 1 AND cardinality(d.weak) = 1))
SELECT z.* FROM (
SELECT q.version_id, q.label_id, NULL::double precision, 0, sum(q.labels), sum(q.signatures) FROM (
    SELECT o.version_id, o.l AS label_id, o.n AS labels, 0 AS signatures FROM one o
    UNION ALL
    SELECT o.version_id, split_part(o.w, ':', 1)::uuid, 0, o.n FROM one o
    UNION ALL
    SELECT d.version_id, u.l, sum(d.s), 0 FROM many d CROSS JOIN LATERAL unnest(d.label_ids) AS u(l) GROUP BY 1, 2
    UNION ALL
    SELECT d.version_id, split_part(x.x, ':', 1)::uuid, 0, sum(d.s)
    FROM many d CROSS JOIN LATERAL unnest(d.weak) AS x(x) GROUP BY 1, 2
) q GROUP BY q.version_id, q.label_id HAVING sum(q.labels) <> 0 OR sum(q.signatures) <> 0
UNION ALL
SELECT q.version_id, NULL, q.k, sum(q.records), sum(q.labels), 0 FROM (
    SELECT o.version_id, o.k, o.n AS records, o.n AS labels FROM one o  -- one label: its confidence is the row's
    UNION ALL
    SELECT d.version_id, weak_supervision_confidence_key(d.confidence), sum(d.s), 0 FROM many d GROUP BY 1, 2
    UNION ALL
    SELECT d.version_id, weak_supervision_confidence_key(u.c), 0, sum(d.s)
    FROM many d CROSS JOIN LATERAL unnest(d.confidences) AS u(c) GROUP BY 1, 2
) q GROUP BY q.version_id, q.k HAVING sum(q.records) <> 0 OR sum(q.labels) <> 0
) z WHERE z.version_id IN (SELECT id FROM weak_supervision_version)
"""

COLUMNS = "version_id, label_id, confidence, records, labels, signatures"
SIGNED = "SELECT version_id, label_ids, confidences, weak, confidence, {sign} AS s FROM {table}"
SOURCES = {
    "insert": SIGNED.format(sign=1, table="new_rows"),
    "delete": SIGNED.format(sign=-1, table="old_rows"),
    "update": SIGNED.format(sign=-1, table="old_rows") + " UNION ALL " + SIGNED.format(sign=1, table="new_rows"),
}

FUNCTIONS = """
CREATE FUNCTION weak_supervision_confidence_key(c double precision) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN c > 0 AND c < 1 AND abs(c * 100 - round(c * 100)) > 1e-6 THEN (floor(c * 100) + 0.5) / 100 ELSE c END
$$;
CREATE FUNCTION weak_supervision_count_compact(v uuid) RETURNS void LANGUAGE sql SET search_path = {path} AS $$
    WITH gone AS (
        DELETE FROM weak_supervision_count c WHERE c.id IN (
            SELECT id FROM weak_supervision_count WHERE version_id = v FOR UPDATE SKIP LOCKED)
        RETURNING c.version_id, c.label_id, c.confidence, c.records, c.labels, c.signatures)
    INSERT INTO weak_supervision_count ({columns})
    SELECT version_id, label_id, confidence, sum(records), sum(labels), sum(signatures) FROM gone
    GROUP BY version_id, label_id, confidence
    HAVING sum(records) <> 0 OR sum(labels) <> 0 OR sum(signatures) <> 0
$$;
CREATE FUNCTION weak_supervision_forget_counts() RETURNS trigger LANGUAGE plpgsql SET search_path = {path} AS $$
BEGIN
    DELETE FROM weak_supervision_count c USING old_rows o WHERE c.version_id = o.id;
    RETURN NULL;
END
$$;
"""

COUNT_FUNCTION = """
CREATE FUNCTION weak_supervision_count_{event}() RETURNS trigger LANGUAGE plpgsql SET search_path = {path}
SET enable_sort = off AS $$
DECLARE
    touched uuid[];
    v uuid;
BEGIN
    WITH added AS (
        INSERT INTO weak_supervision_count ({columns}) {deltas} RETURNING version_id
    )
    SELECT array_agg(DISTINCT version_id) INTO touched FROM added;
    FOREACH v IN ARRAY coalesce(touched, '{{}}'::uuid[]) LOOP
        IF EXISTS (SELECT 1 FROM weak_supervision_count WHERE version_id = v OFFSET {compact_at}) THEN
            PERFORM weak_supervision_count_compact(v);
        END IF;
    END LOOP;
    RETURN NULL;
END
$$;
"""

MARK_FUNCTION = """
CREATE FUNCTION record_task_label_bump_{event}() RETURNS trigger LANGUAGE plpgsql SET search_path = {path} AS $$
BEGIN
    INSERT INTO record_task_label_mark AS m (labeling_task_id, mark)
    SELECT DISTINCT r.labeling_task_id, 1 FROM {rows} r WHERE EXISTS (SELECT 1 FROM labeling_task t WHERE t.id = r.labeling_task_id)
    ORDER BY 1
    ON CONFLICT (labeling_task_id) DO UPDATE SET mark = m.mark + 1;
    RETURN NULL;
END
$$;
"""
# an UPDATE bumps the mark only for rows whose manual labels changed: the kept figures read ``manual`` and ``decided``
# only, and the data browser's recomputation of ``differ`` / ``ws_version`` after a switch must not touch the mark
# row (a REPEATABLE READ label writer whose snapshot predates that recomputation would fail on it)
MARK_ROWS = {
    "insert": "new_rows",
    "delete": "old_rows",
    "update": "(SELECT n.labeling_task_id FROM new_rows n JOIN old_rows o USING (labeling_task_id, record_id)"
    " WHERE (n.manual, n.decided) IS DISTINCT FROM (o.manual, o.decided))",
}

EVENTS = {"insert": "INSERT", "delete": "DELETE", "update": "UPDATE"}
TRANSITIONS = {
    "insert": "NEW TABLE AS new_rows",
    "delete": "OLD TABLE AS old_rows",
    "update": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
}


def _search_path() -> str:
    schema = op.get_bind().exec_driver_sql("SELECT current_schema()").scalar()
    return '"' + str(schema).replace('"', '""') + '", pg_temp'


def upgrade() -> None:
    path = _search_path()
    op.create_table(
        "weak_supervision_count",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("version_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("label_id", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("records", sa.BigInteger(), nullable=False),
        sa.Column("labels", sa.BigInteger(), nullable=False),
        sa.Column("signatures", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_weak_supervision_count")),
    )
    op.create_index("ix_weak_supervision_count_version", "weak_supervision_count", ["version_id"])
    op.execute(FUNCTIONS.format(path=path, columns=COLUMNS))
    for event, source in SOURCES.items():
        deltas = DELTAS.format(rows=source)
        op.execute(COUNT_FUNCTION.format(event=event, path=path, columns=COLUMNS, deltas=deltas, compact_at=COMPACT_AT))
        op.execute(
            f"CREATE TRIGGER weak_supervision_counts_{event} AFTER {EVENTS[event]} ON weak_supervision_result"
            f" REFERENCING {TRANSITIONS[event]} FOR EACH STATEMENT EXECUTE FUNCTION weak_supervision_count_{event}()"
        )
    op.execute(
        "CREATE TRIGGER weak_supervision_version_forgets_counts AFTER DELETE ON weak_supervision_version"
        " REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION weak_supervision_forget_counts()"
    )
    op.create_table(
        "record_task_label_mark",
        sa.Column("labeling_task_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("mark", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["labeling_task_id"],
            ["labeling_task.id"],
            name=op.f("fk_record_task_label_mark_labeling_task_id_labeling_task"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("labeling_task_id", name=op.f("pk_record_task_label_mark")),
    )
    op.create_table(
        "metric_cache",
        sa.Column("labeling_task_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("metric", sa.Text(), nullable=False),
        sa.Column("marks", sa.Text(), nullable=False),
        sa.Column("value", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(
            ["labeling_task_id"],
            ["labeling_task.id"],
            name=op.f("fk_metric_cache_labeling_task_id_labeling_task"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("labeling_task_id", "metric", name=op.f("pk_metric_cache")),
    )
    for event, rows in MARK_ROWS.items():
        op.execute(MARK_FUNCTION.format(event=event, path=path, rows=rows))
        op.execute(
            f"CREATE TRIGGER record_task_label_marks_{event} AFTER {EVENTS[event]} ON record_task_label"
            f" REFERENCING {TRANSITIONS[event]}"
            f" FOR EACH STATEMENT EXECUTE FUNCTION record_task_label_bump_{event}()"
        )
    # the existing versions' counts, in one pass (hashed: a transition table's or a filter's row estimate is often a
    # few rows, and sorting 100,000 rows by their keys cost twice the rest)
    op.execute("SET LOCAL enable_sort = off")
    everything = SIGNED.format(sign=1, table="weak_supervision_result")
    op.execute(f"INSERT INTO weak_supervision_count ({COLUMNS}) {DELTAS.format(rows=everything)}")


def downgrade() -> None:
    for event in MARK_ROWS:
        op.execute(f"DROP TRIGGER record_task_label_marks_{event} ON record_task_label")
        op.execute(f"DROP FUNCTION record_task_label_bump_{event}()")
    op.drop_table("metric_cache")
    op.drop_table("record_task_label_mark")
    op.execute("DROP TRIGGER weak_supervision_version_forgets_counts ON weak_supervision_version")
    for event in SOURCES:
        op.execute(f"DROP TRIGGER weak_supervision_counts_{event} ON weak_supervision_result")
        op.execute(f"DROP FUNCTION weak_supervision_count_{event}()")
    op.execute("DROP FUNCTION weak_supervision_forget_counts()")
    op.execute("DROP FUNCTION weak_supervision_count_compact(uuid)")
    op.execute("DROP FUNCTION weak_supervision_confidence_key(double precision)")
    op.drop_table("weak_supervision_count")
