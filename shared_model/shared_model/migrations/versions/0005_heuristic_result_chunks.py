"""heuristic_result: heuristics' votes as chunks of record-id arrays instead of one indexed row per vote

Storing a run's votes as record_label_association rows cost Postgres about 2.5 CPU-seconds per 136,000 votes (heap,
a random UUID key, five indexes, reference checks) — more than the labeling functions themselves. A heuristic's votes
now live in ``heuristic_result``: one row per chunk of records that it labels with one label, the records (and, for
extraction, the spans; where not 1.0, the confidences) as parallel arrays. Guarantees, as before:

- project, task, heuristic and label are foreign keys (ON DELETE CASCADE, checked once per chunk); after each INSERT
  or UPDATE statement a trigger checks that label and heuristic belong to the chunk's task and the task to its
  project, that spans are valid ranges, and that every record exists in the chunk's project (SQLSTATE 23503 naming
  it, nothing of the statement stored);
- each chunk names its smallest and largest record id (checked), so a record's votes are found without reading
  every chunk;
- deleting records removes them from the arrays (chunks left empty go); writers and record deletes of one project
  are serialized by a transaction-level advisory lock (writers take it shared: the insert check, and
  ``shared_model.heuristic_results.delete_results`` before it deletes a heuristic's chunks), so that a record deleted
  while a run stores cannot be left behind (deletes need READ COMMITTED, as in 0004); a TRUNCATE of record empties
  the table;
- the view ``heuristic_association`` shows one row per vote (project, task, heuristic, label, record, span,
  confidence) for readers and for work by hand;
- record_label_association refuses INFORMATION_SOURCE rows from now on; the existing ones are moved (one chunk per
  heuristic and label), and a downgrade moves them back.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# The key of the advisory lock that serializes storing results and deleting records of one project (first half of
# the two-int key: a constant naming this use; second: the project's hash).
LOCK_CLASS = 5005

VIEW = """
CREATE VIEW heuristic_association AS
SELECT h.project_id, h.labeling_task_id, h.source_id, h.label_id, v.record_id, v.token_start, v.token_end,
       coalesce(v.confidence, 1.0) AS confidence, h.created_at, h.id AS chunk_id
FROM heuristic_result h
CROSS JOIN LATERAL unnest(h.record_ids, h.token_starts, h.token_ends, h.confidences)
    AS v(record_id, token_start, token_end, confidence)
"""

CHECK_FUNCTION = """
CREATE FUNCTION heuristic_result_check() RETURNS trigger LANGUAGE plpgsql SET search_path = {path} AS $$
DECLARE
    bad_record bigint;
    bad_chunk bigint;
    what text;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM new_chunks) THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'UPDATE' AND current_setting('refinery.heuristic_result_cleanup', true) = 'on' THEN
        RETURN NULL;  -- the record-delete cleanup below only removes ids (and keeps the range columns right)
    END IF;
    -- A record delete of these projects waits for this transaction (it takes the same lock exclusively), or has
    -- committed and its records are reported missing below (each statement sees what committed before it).
    PERFORM pg_advisory_xact_lock_shared({lock_class}, hashtext(p.project_id::text))
        FROM (SELECT DISTINCT project_id FROM new_chunks) p ORDER BY p.project_id;
    SELECT n.id, CASE
            WHEN t.project_id IS DISTINCT FROM n.project_id THEN 'its labeling task belongs to another project'
            WHEN l.labeling_task_id IS DISTINCT FROM n.labeling_task_id THEN 'its label belongs to another labeling task'
            ELSE 'its heuristic belongs to another labeling task' END
        INTO bad_chunk, what
        FROM new_chunks n
        LEFT JOIN labeling_task t ON t.id = n.labeling_task_id
        LEFT JOIN label l ON l.id = n.label_id
        LEFT JOIN information_source s ON s.id = n.source_id
        WHERE t.project_id IS DISTINCT FROM n.project_id OR l.labeling_task_id IS DISTINCT FROM n.labeling_task_id
            OR s.labeling_task_id IS DISTINCT FROM n.labeling_task_id
        LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation', TABLE = 'heuristic_result',
            MESSAGE = format('heuristic results (chunk %s) cannot be stored: %s', bad_chunk, what);
    END IF;
    SELECT v.record_id INTO bad_record
        FROM new_chunks n CROSS JOIN LATERAL unnest(n.record_ids, n.token_starts, n.token_ends)
            AS v(record_id, token_start, token_end)
        WHERE v.record_id IS NULL OR v.record_id < n.first_record_id OR v.record_id > n.last_record_id
            OR (n.token_starts IS NOT NULL AND (v.token_start IS NULL OR v.token_end IS NULL
            OR v.token_start < 0 OR v.token_end <= v.token_start))
        LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'check_violation', TABLE = 'heuristic_result',
            MESSAGE = format('a heuristic result names no record, a record outside its chunk''s range or an invalid'
                             ' span (record %s)', bad_record);
    END IF;
    SELECT n.id INTO bad_chunk FROM new_chunks n
        WHERE NOT (n.first_record_id = ANY(n.record_ids) AND n.last_record_id = ANY(n.record_ids)) LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'check_violation', TABLE = 'heuristic_result',
            MESSAGE = format('heuristic results (chunk %s): first_record_id and last_record_id must be ids of the chunk',
                             bad_chunk);
    END IF;
    SELECT v.id INTO bad_record
        FROM (SELECT n.project_id, u.id FROM new_chunks n CROSS JOIN LATERAL unnest(n.record_ids) AS u(id)) v
        WHERE NOT EXISTS (SELECT 1 FROM record r WHERE r.id = v.id AND r.project_id = v.project_id)
        LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation', TABLE = 'heuristic_result',
            MESSAGE = format('a heuristic result names record %s, which %s', bad_record,
                CASE WHEN EXISTS (SELECT 1 FROM record r WHERE r.id = bad_record) THEN 'belongs to another project'
                ELSE 'does not exist' END);
    END IF;
    RETURN NULL;
END
$$
"""

# After a DELETE statement on record: the deleted records leave the arrays of their projects' chunks (a project
# being deleted is skipped: its chunks go by cascade). Few records: chunks found by array overlap; many: by a hash
# join of every id of the projects' chunks (&& compares every pair of elements).
# The deleted records' chunks, rewritten without them (chunks left empty are deleted); {hit} names the chunks.
CLEANUP_STATEMENT = """
    WITH kept AS (
        SELECT c.id,
            array_agg(v.record_id ORDER BY v.n) FILTER (WHERE o.id IS NULL) AS record_ids,
            array_agg(v.token_start ORDER BY v.n) FILTER (WHERE o.id IS NULL) AS token_starts,
            array_agg(v.token_end ORDER BY v.n) FILTER (WHERE o.id IS NULL) AS token_ends,
            array_agg(v.confidence ORDER BY v.n) FILTER (WHERE o.id IS NULL) AS confidences,
            min(v.record_id) FILTER (WHERE o.id IS NULL) AS first_record_id,
            max(v.record_id) FILTER (WHERE o.id IS NULL) AS last_record_id
        FROM heuristic_result c
        CROSS JOIN LATERAL unnest(c.record_ids, c.token_starts, c.token_ends, c.confidences) WITH ORDINALITY
            AS v(record_id, token_start, token_end, confidence, n)
        LEFT JOIN old_rows o ON o.id = v.record_id
        WHERE c.id IN ({hit})
        GROUP BY c.id
    ), rewritten AS (
        UPDATE heuristic_result h SET
            record_ids = k.record_ids,
            token_starts = CASE WHEN h.token_starts IS NULL THEN NULL ELSE k.token_starts END,
            token_ends = CASE WHEN h.token_ends IS NULL THEN NULL ELSE k.token_ends END,
            confidences = CASE WHEN h.confidences IS NULL THEN NULL ELSE k.confidences END,
            first_record_id = k.first_record_id,
            last_record_id = k.last_record_id
        FROM kept k WHERE h.id = k.id AND k.record_ids IS NOT NULL
        RETURNING h.id
    )
    DELETE FROM heuristic_result h USING kept k WHERE h.id = k.id AND k.record_ids IS NULL"""

LIVE_PROJECTS = "SELECT o.project_id FROM old_rows o JOIN project p ON p.id = o.project_id"
# Few records: their chunks found by array overlap (&& compares every pair of elements); many: by one hash join.
# Only chunks whose id range meets the deleted ids' range are read (index ix_heuristic_result_record_range).
IN_RANGE = (
    f"h.project_id IN ({LIVE_PROJECTS}) AND h.first_record_id <= (SELECT max(id) FROM old_rows)"
    " AND h.last_record_id >= (SELECT min(id) FROM old_rows)"
)
HIT_FEW = f"SELECT h.id FROM heuristic_result h WHERE {IN_RANGE} AND h.record_ids && gone"
HIT_MANY = (
    "SELECT DISTINCT h.id FROM heuristic_result h CROSS JOIN LATERAL unnest(h.record_ids) AS u(id)"
    f" JOIN old_rows o ON o.id = u.id WHERE {IN_RANGE}"
)

# After a DELETE statement on record: the deleted records leave the arrays of their projects' chunks (a project
# being deleted is skipped: its chunks go by cascade).
CLEANUP_FUNCTION = """
CREATE FUNCTION heuristic_result_forget_records() RETURNS trigger LANGUAGE plpgsql SET search_path = {path} AS $$
DECLARE
    gone bigint[];
BEGIN
    IF NOT EXISTS (SELECT 1 FROM old_rows) THEN
        RETURN NULL;
    END IF;
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION USING ERRCODE = 'serialization_failure',
            MESSAGE = 'deleting records needs READ COMMITTED isolation (they are removed from heuristic results too)';
    END IF;
    PERFORM pg_advisory_xact_lock({lock_class}, hashtext(p.project_id::text))
        FROM (SELECT DISTINCT project_id FROM ({live}) l) p ORDER BY p.project_id;
    PERFORM set_config('refinery.heuristic_result_cleanup', 'on', true);
    IF (SELECT count(*) FROM old_rows) <= 64 THEN
        SELECT array_agg(id) INTO gone FROM old_rows;
        {few};
    ELSE
        {many};
    END IF;
    PERFORM set_config('refinery.heuristic_result_cleanup', 'off', true);
    RETURN NULL;
END
$$
"""

TRUNCATE_FUNCTION = """
CREATE FUNCTION heuristic_result_truncate_for_record() RETURNS trigger LANGUAGE plpgsql SET search_path = {path} AS $$
BEGIN
    DELETE FROM heuristic_result;
    RETURN NULL;
END
$$
"""

# One chunk per heuristic, label and 100,000 votes (as the services write them), ordered by record.
MOVE_TO_CHUNKS = """
INSERT INTO heuristic_result (project_id, labeling_task_id, source_id, label_id, record_ids, first_record_id,
                              last_record_id, token_starts, token_ends, confidences, created_at)
SELECT v.project_id, v.labeling_task_id, v.source_id, v.label_id,
       array_agg(v.record_id ORDER BY v.n), min(v.record_id), max(v.record_id),
       CASE WHEN bool_and(v.token_start IS NULL) THEN NULL ELSE array_agg(coalesce(v.token_start, 0) ORDER BY v.n) END,
       CASE WHEN bool_and(v.token_start IS NULL) THEN NULL ELSE array_agg(coalesce(v.token_end, 1) ORDER BY v.n) END,
       CASE WHEN bool_and(coalesce(v.confidence, 1.0) = 1.0) THEN NULL
            ELSE array_agg(coalesce(v.confidence, 1.0) ORDER BY v.n) END,
       min(v.created_at)
FROM (
    SELECT a.*, row_number() OVER (PARTITION BY a.source_id, a.label_id ORDER BY a.record_id, a.token_start) AS n
    FROM record_label_association a
    JOIN record r ON r.id = a.record_id AND r.project_id = a.project_id
    JOIN label l ON l.id = a.label_id AND l.labeling_task_id = a.labeling_task_id
    JOIN information_source s ON s.id = a.source_id AND s.labeling_task_id = a.labeling_task_id
    WHERE a.source_type = 'INFORMATION_SOURCE'
) v
GROUP BY v.project_id, v.labeling_task_id, v.source_id, v.label_id, (v.n - 1) / 100000
"""

MOVE_BACK = """
INSERT INTO record_label_association (project_id, record_id, labeling_task_id, label_id, source_type, source_id,
                                      return_type, confidence, is_gold_star, is_valid_manual_label, token_start,
                                      token_end, created_at)
SELECT v.project_id, v.record_id, v.labeling_task_id, v.label_id, 'INFORMATION_SOURCE', v.source_id,
       CASE WHEN v.token_start IS NULL THEN 'RETURN' ELSE 'YIELD' END, v.confidence, false, false, v.token_start,
       v.token_end, v.created_at
FROM heuristic_association v
"""


def _search_path() -> str:
    """The migration's schema, then pg_temp last: a session's temporary table cannot shadow ours in a trigger."""
    schema = op.get_bind().exec_driver_sql("SELECT current_schema()").scalar()
    return '"' + str(schema).replace('"', '""') + '", pg_temp'


def upgrade() -> None:
    path = _search_path()
    op.create_table(
        "heuristic_result",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("project_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("labeling_task_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("source_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("label_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("record_ids", postgresql.ARRAY(sa.BigInteger()), nullable=False),
        sa.Column("first_record_id", sa.BigInteger(), nullable=False),
        sa.Column("last_record_id", sa.BigInteger(), nullable=False),
        sa.Column("token_starts", postgresql.ARRAY(sa.Integer()), nullable=True),
        sa.Column("token_ends", postgresql.ARRAY(sa.Integer()), nullable=True),
        sa.Column("confidences", postgresql.ARRAY(sa.Float()), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("cardinality(record_ids) > 0", name=op.f("ck_heuristic_result_not_empty")),
        sa.CheckConstraint("first_record_id <= last_record_id", name=op.f("ck_heuristic_result_record_range")),
        sa.CheckConstraint(
            "(token_starts IS NULL AND token_ends IS NULL) OR (cardinality(token_starts) = cardinality(record_ids)"
            " AND cardinality(token_ends) = cardinality(record_ids))",
            name=op.f("ck_heuristic_result_spans_match"),
        ),
        sa.CheckConstraint(
            "confidences IS NULL OR cardinality(confidences) = cardinality(record_ids)",
            name=op.f("ck_heuristic_result_confidences_match"),
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["project.id"], name=op.f("fk_heuristic_result_project_id_project"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["labeling_task_id"],
            ["labeling_task.id"],
            name=op.f("fk_heuristic_result_labeling_task_id_labeling_task"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["information_source.id"],
            name=op.f("fk_heuristic_result_source_id_information_source"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["label_id"], ["label.id"], name=op.f("fk_heuristic_result_label_id_label"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_heuristic_result")),
    )
    op.create_index("ix_heuristic_result_task_source", "heuristic_result", ["labeling_task_id", "source_id"])
    op.create_index(
        "ix_heuristic_result_record_range", "heuristic_result", ["project_id", "first_record_id", "last_record_id"]
    )
    op.create_index(op.f("ix_heuristic_result_source_id"), "heuristic_result", ["source_id"])
    op.create_index(op.f("ix_heuristic_result_label_id"), "heuristic_result", ["label_id"])
    op.execute(CHECK_FUNCTION.format(path=path, lock_class=LOCK_CLASS))
    for event in ("INSERT", "UPDATE"):
        op.execute(
            f"CREATE TRIGGER heuristic_result_check_{event.lower()} AFTER {event} ON heuristic_result"
            " REFERENCING NEW TABLE AS new_chunks FOR EACH STATEMENT EXECUTE FUNCTION heuristic_result_check()"
        )
    op.execute(
        CLEANUP_FUNCTION.format(
            path=path,
            lock_class=LOCK_CLASS,
            live=LIVE_PROJECTS,
            few=CLEANUP_STATEMENT.format(hit=HIT_FEW),
            many=CLEANUP_STATEMENT.format(hit=HIT_MANY),
        )
    )
    op.execute(
        "CREATE TRIGGER record_deletes_heuristic_results AFTER DELETE ON record REFERENCING OLD TABLE AS old_rows"
        " FOR EACH STATEMENT EXECUTE FUNCTION heuristic_result_forget_records()"
    )
    op.execute(TRUNCATE_FUNCTION.format(path=path))
    op.execute(
        "CREATE TRIGGER record_truncates_heuristic_results AFTER TRUNCATE ON record"
        " FOR EACH STATEMENT EXECUTE FUNCTION heuristic_result_truncate_for_record()"
    )
    op.execute(VIEW)
    op.execute(MOVE_TO_CHUNKS)
    op.execute("DELETE FROM record_label_association WHERE source_type = 'INFORMATION_SOURCE'")
    op.create_check_constraint(
        "no_heuristic_rows", "record_label_association", "source_type <> 'INFORMATION_SOURCE'"
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_record_label_association_no_heuristic_rows"), "record_label_association", type_="check")
    op.execute(MOVE_BACK)
    op.execute("DROP VIEW heuristic_association")
    op.execute("DROP TRIGGER record_truncates_heuristic_results ON record")
    op.execute("DROP FUNCTION heuristic_result_truncate_for_record()")
    op.execute("DROP TRIGGER record_deletes_heuristic_results ON record")
    op.execute("DROP FUNCTION heuristic_result_forget_records()")
    for event in ("insert", "update"):
        op.execute(f"DROP TRIGGER heuristic_result_check_{event} ON heuristic_result")
    op.execute("DROP FUNCTION heuristic_result_check()")
    op.drop_table("heuristic_result")
