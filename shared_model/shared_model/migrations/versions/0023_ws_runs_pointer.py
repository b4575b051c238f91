"""Weak-supervision labels kept per run behind a current-run pointer (issues #17 and #22)

Replacing a task's weak-supervision labels deleted its rows in ``record_label_association`` and inserted one per
record in one transaction: 87 s for 1M records, 200 s with the label read model's triggers (0018). Now:

- ``weak_supervision_result`` holds one row per (version, record): the record's weak-supervision labels as parallel
  arrays (``label_ids``, ``confidences``, ``token_starts``/``token_ends`` for extraction), their ``label:start:end``
  signatures (``weak``, as ``record_task_label.decided``) and the highest confidence (``confidence``); keyed by
  (version, record), indexed by (version, confidence). No foreign keys (a check per row would cost as much as the
  write): statement triggers remove the rows of deleted records, labels, versions (tasks, projects);
- ``weak_supervision_version`` names each version (a weak-supervision run's id for a run) with its task and project;
- ``weak_supervision_current`` names, per task, the version readers see; a run writes its rows under its own version
  (short transactions nobody reads) and switches this one row at the end; superseded versions, and those of runs
  that failed or were cancelled or killed, are garbage-collected (``shared_model.weak_supervision_results``);
- the views ``weak_supervision_label`` (the current version's rows) and ``weak_supervision_association`` (one row
  per label, like the former association rows) are what readers read;
- WEAK_SUPERVISION rows inserted into ``record_label_association`` (pre-computed labels, tests, older writers) are
  moved into the task's current version in the caller's transaction (a statement trigger after the insert's
  reference checks; the rows do not stay there);
- ``record_task_label`` loses ``weak`` and ``ws_confidence`` (a switch would rewrite them for every record) and keeps
  rows with a manual label only; its ``differ`` is computed against the version named in its new ``ws_version``
  (label writes: the current one; after a switch the browser recomputes the task's manually labeled rows once,
  ``weak_supervision_differ_state``).

The existing weak-supervision rows become each task's current version.

Revision ID: 0023
Revises: 0022
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

LOCK_CLASS = 5005  # the project's advisory lock of 0005: writers take it shared, record deletes exclusively
READ_MODEL_LOCK = 5018  # as in 0018

SIGNATURE = "u.l::text || ':' || coalesce(u.s, -1) || ':' || coalesce(u.e, -1)"

FUNCTIONS = """
CREATE FUNCTION weak_supervision_version_of(task uuid) RETURNS uuid LANGUAGE plpgsql SET search_path = {path} AS $$
DECLARE
    found uuid;
BEGIN
    SELECT version_id INTO found FROM weak_supervision_current WHERE labeling_task_id = task;
    IF found IS NULL THEN
        found := gen_random_uuid();
        INSERT INTO weak_supervision_version (id, labeling_task_id, project_id)
            SELECT found, t.id, t.project_id FROM labeling_task t WHERE t.id = task;
        INSERT INTO weak_supervision_current (labeling_task_id, version_id) VALUES (task, found)
            ON CONFLICT (labeling_task_id) DO NOTHING;
        SELECT version_id INTO found FROM weak_supervision_current WHERE labeling_task_id = task;
    END IF;
    RETURN found;
END
$$;
CREATE FUNCTION weak_supervision_divert() RETURNS trigger LANGUAGE plpgsql SET search_path = {path} AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM new_rows WHERE source_type = 'WEAK_SUPERVISION') THEN
        RETURN NULL;
    END IF;
    PERFORM pg_advisory_xact_lock_shared({lock_class}, hashtext(p::text))
    FROM (SELECT DISTINCT project_id AS p FROM new_rows WHERE source_type = 'WEAK_SUPERVISION' ORDER BY 1) o;
    PERFORM weak_supervision_version_of(t)
    FROM (SELECT DISTINCT labeling_task_id AS t FROM new_rows WHERE source_type = 'WEAK_SUPERVISION' ORDER BY 1) o;
    INSERT INTO weak_supervision_result AS w (version_id, record_id, labeling_task_id, project_id, label_ids, confidences,
            token_starts, token_ends, weak, confidence)
        SELECT c.version_id, u.record_id, u.labeling_task_id, min(u.project_id::text)::uuid,
            array_agg(u.l ORDER BY u.s, u.id), array_agg(u.c ORDER BY u.s, u.id),
            CASE WHEN bool_and(u.s IS NULL) THEN NULL ELSE array_agg(u.s ORDER BY u.s, u.id) END,
            CASE WHEN bool_and(u.e IS NULL) THEN NULL ELSE array_agg(u.e ORDER BY u.s, u.id) END,
            array_agg(DISTINCT {signature}), max(u.c)
        FROM (SELECT n.id, n.record_id, n.labeling_task_id, n.project_id, n.label_id AS l, n.confidence AS c,
                n.token_start AS s, n.token_end AS e
              FROM new_rows n WHERE n.source_type = 'WEAK_SUPERVISION') u
        JOIN weak_supervision_current c ON c.labeling_task_id = u.labeling_task_id
        GROUP BY c.version_id, u.labeling_task_id, u.record_id
        ON CONFLICT (version_id, record_id) DO UPDATE SET
            label_ids = w.label_ids || EXCLUDED.label_ids,
            confidences = w.confidences || EXCLUDED.confidences,
            token_starts = w.token_starts || EXCLUDED.token_starts,
            token_ends = w.token_ends || EXCLUDED.token_ends,
            weak = (SELECT array_agg(DISTINCT x) FROM unnest(w.weak || EXCLUDED.weak) AS x),
            confidence = greatest(w.confidence, EXCLUDED.confidence);
    DELETE FROM record_label_association a USING new_rows n
    WHERE a.id = n.id AND n.source_type = 'WEAK_SUPERVISION';
    RETURN NULL;
END
$$;
CREATE FUNCTION weak_supervision_forget_records() RETURNS trigger LANGUAGE plpgsql SET search_path = {path} AS $$
BEGIN
    DELETE FROM weak_supervision_result w USING old_rows o, weak_supervision_version v
    WHERE v.project_id = o.project_id AND w.version_id = v.id AND w.record_id = o.id;
    RETURN NULL;
END
$$;
CREATE FUNCTION weak_supervision_forget_versions() RETURNS trigger LANGUAGE plpgsql SET search_path = {path} AS $$
BEGIN
    DELETE FROM weak_supervision_result w USING old_rows o WHERE w.version_id = o.id;
    RETURN NULL;
END
$$;
CREATE FUNCTION weak_supervision_forget_labels() RETURNS trigger LANGUAGE plpgsql SET search_path = {path} AS $$
DECLARE
    gone uuid[];
    versions uuid[];
BEGIN
    SELECT array_agg(id) INTO gone FROM old_rows;
    SELECT array_agg(v.id) INTO versions FROM weak_supervision_version v
    WHERE v.labeling_task_id IN (SELECT labeling_task_id FROM old_rows);
    IF versions IS NULL THEN
        RETURN NULL;
    END IF;
    DELETE FROM weak_supervision_result w WHERE w.version_id = ANY(versions) AND w.label_ids <@ gone;
    UPDATE weak_supervision_result w
    SET (label_ids, confidences, token_starts, token_ends, weak, confidence) = (
        SELECT array_agg(u.l ORDER BY u.n), array_agg(u.c ORDER BY u.n),
            CASE WHEN w.token_starts IS NULL THEN NULL ELSE array_agg(u.s ORDER BY u.n) END,
            CASE WHEN w.token_ends IS NULL THEN NULL ELSE array_agg(u.e ORDER BY u.n) END,
            array_agg(DISTINCT {signature}), max(u.c)
        FROM unnest(w.label_ids, w.confidences, w.token_starts, w.token_ends) WITH ORDINALITY AS u(l, c, s, e, n)
        WHERE u.l <> ALL(gone))
    WHERE w.version_id = ANY(versions) AND w.label_ids && gone;
    RETURN NULL;
END
$$;
"""

TRIGGERS = (
    # after the references were checked (rla_check_references_insert, alphabetically before it)
    "CREATE TRIGGER weak_supervision_divert AFTER INSERT ON record_label_association REFERENCING NEW TABLE AS new_rows"
    " FOR EACH STATEMENT EXECUTE FUNCTION weak_supervision_divert()",
    "CREATE TRIGGER record_deletes_weak_supervision AFTER DELETE ON record REFERENCING OLD TABLE AS old_rows"
    " FOR EACH STATEMENT EXECUTE FUNCTION weak_supervision_forget_records()",
    "CREATE TRIGGER weak_supervision_version_deletes AFTER DELETE ON weak_supervision_version"
    " REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION weak_supervision_forget_versions()",
    "CREATE TRIGGER label_deletes_weak_supervision AFTER DELETE ON label REFERENCING OLD TABLE AS old_rows"
    " FOR EACH STATEMENT EXECUTE FUNCTION weak_supervision_forget_labels()",
)

VIEWS = """
CREATE VIEW weak_supervision_label AS
SELECT w.version_id, w.record_id, w.labeling_task_id, w.project_id, w.label_ids, w.confidences, w.token_starts,
       w.token_ends, w.weak, w.confidence
FROM weak_supervision_result w
JOIN weak_supervision_current c ON c.labeling_task_id = w.labeling_task_id AND c.version_id = w.version_id;
CREATE VIEW weak_supervision_association AS
SELECT w.project_id, w.labeling_task_id, w.record_id, u.label_id, u.confidence, u.token_start, u.token_end,
       w.version_id, u.position
FROM weak_supervision_label w
CROSS JOIN LATERAL unnest(w.label_ids, w.confidences, w.token_starts, w.token_ends) WITH ORDINALITY
    AS u(label_id, confidence, token_start, token_end, position);
"""

# 0018's refresh without the weak-supervision part: rows for (record, task) pairs with a manual label
# 0018's refresh without the weak-supervision labels: rows for (record, task) pairs with a manual label; ``differ``
# is computed against the task's current weak-supervision version (named in ``ws_version``)
READ_MODEL_APPLY = """
CREATE OR REPLACE FUNCTION record_task_label_apply(tasks uuid[], records bigint[]) RETURNS void LANGUAGE plpgsql
SET search_path = {path} AS $$
BEGIN
    PERFORM pg_advisory_xact_lock({lock_class}, hashtext(t::text))
    FROM (SELECT DISTINCT t FROM unnest(tasks) AS u(t) ORDER BY t) o;
    INSERT INTO record_task_label AS l (labeling_task_id, record_id, project_id, manual, decided, differ, ws_version)
    SELECT s.t, s.r, s.project_id, true, s.decided,
        coalesce(s.decided IS NOT NULL AND NOT (s.decided @> w.weak AND w.weak @> s.decided), false), c.version_id
    FROM (
        SELECT p.t, p.r, min(a.project_id::text)::uuid AS project_id,
            array_agg(DISTINCT a.label_id::text || ':' || coalesce(a.token_start, -1) || ':' || coalesce(a.token_end, -1))
                FILTER (WHERE a.is_valid_manual_label) AS decided
        FROM unnest(tasks, records) AS p(t, r)
        JOIN record_label_association a ON a.labeling_task_id = p.t AND a.record_id = p.r AND a.source_type = 'MANUAL'
        GROUP BY p.t, p.r
    ) s
    LEFT JOIN weak_supervision_current c ON c.labeling_task_id = s.t
    LEFT JOIN weak_supervision_result w ON w.version_id = c.version_id AND w.record_id = s.r
    ORDER BY s.t, s.r
    ON CONFLICT (labeling_task_id, record_id) DO UPDATE
    SET manual = EXCLUDED.manual, decided = EXCLUDED.decided, differ = EXCLUDED.differ, ws_version = EXCLUDED.ws_version
    WHERE (l.manual, l.decided, l.differ, l.ws_version)
        IS DISTINCT FROM (EXCLUDED.manual, EXCLUDED.decided, EXCLUDED.differ, EXCLUDED.ws_version);
    DELETE FROM record_task_label l USING unnest(tasks, records) AS p(t, r)
    WHERE l.labeling_task_id = p.t AND l.record_id = p.r
        AND NOT EXISTS (
            SELECT 1 FROM record_label_association a
            WHERE a.labeling_task_id = p.t AND a.record_id = p.r AND a.source_type = 'MANUAL'
        );
END
$$
"""

MOVE_EXISTING = (
    "INSERT INTO weak_supervision_version (id, labeling_task_id, project_id)"
    " SELECT gen_random_uuid(), t.id, t.project_id FROM labeling_task t WHERE EXISTS ("
    " SELECT 1 FROM record_label_association a WHERE a.labeling_task_id = t.id AND a.source_type = 'WEAK_SUPERVISION')",
    "INSERT INTO weak_supervision_current (labeling_task_id, version_id) SELECT labeling_task_id, id FROM weak_supervision_version",
    "INSERT INTO weak_supervision_result (version_id, record_id, labeling_task_id, project_id, label_ids, confidences,"
    " token_starts, token_ends, weak, confidence)"
    " SELECT v.id, u.record_id, v.labeling_task_id, v.project_id, array_agg(u.l ORDER BY u.s, u.id),"
    " array_agg(u.c ORDER BY u.s, u.id),"
    " CASE WHEN bool_and(u.s IS NULL) THEN NULL ELSE array_agg(u.s ORDER BY u.s, u.id) END,"
    " CASE WHEN bool_and(u.e IS NULL) THEN NULL ELSE array_agg(u.e ORDER BY u.s, u.id) END,"
    f" array_agg(DISTINCT {SIGNATURE}), max(u.c)"
    " FROM (SELECT a.id, a.record_id, a.labeling_task_id, a.label_id AS l, a.confidence AS c, a.token_start AS s,"
    " a.token_end AS e FROM record_label_association a WHERE a.source_type = 'WEAK_SUPERVISION') u"
    " JOIN weak_supervision_version v ON v.labeling_task_id = u.labeling_task_id"
    " GROUP BY v.id, v.labeling_task_id, v.project_id, u.record_id",
)


def _search_path() -> str:
    schema = op.get_bind().exec_driver_sql("SELECT current_schema()").scalar()
    return '"' + str(schema).replace('"', '""') + '", pg_temp'


def upgrade() -> None:
    path = _search_path()
    op.create_table(
        "weak_supervision_version",
        sa.Column("id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("labeling_task_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("project_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["labeling_task_id"],
            ["labeling_task.id"],
            name=op.f("fk_weak_supervision_version_labeling_task_id_labeling_task"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["project.id"], name=op.f("fk_weak_supervision_version_project_id_project"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_weak_supervision_version")),
    )
    op.create_index("ix_weak_supervision_version_task", "weak_supervision_version", ["labeling_task_id"])
    op.create_index("ix_weak_supervision_version_project", "weak_supervision_version", ["project_id"])
    op.create_table(
        "weak_supervision_current",
        sa.Column("labeling_task_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("version_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("switched_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["labeling_task_id"],
            ["labeling_task.id"],
            name=op.f("fk_weak_supervision_current_labeling_task_id_labeling_task"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("labeling_task_id", name=op.f("pk_weak_supervision_current")),
    )
    op.create_table(
        "weak_supervision_result",
        sa.Column("version_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("record_id", sa.BigInteger(), nullable=False),
        sa.Column("labeling_task_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("project_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("label_ids", postgresql.ARRAY(postgresql.UUID(as_uuid=True)), nullable=False),
        sa.Column("confidences", postgresql.ARRAY(sa.Float()), nullable=False),
        sa.Column("token_starts", postgresql.ARRAY(sa.Integer()), nullable=True),
        sa.Column("token_ends", postgresql.ARRAY(sa.Integer()), nullable=True),
        sa.Column("weak", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.CheckConstraint(
            "cardinality(confidences) = cardinality(label_ids)", name=op.f("ck_weak_supervision_result_confidences_match")
        ),
        sa.CheckConstraint(
            "(token_starts IS NULL AND token_ends IS NULL) OR (cardinality(token_starts) = cardinality(label_ids)"
            " AND cardinality(token_ends) = cardinality(label_ids))",
            name=op.f("ck_weak_supervision_result_spans_match"),
        ),
        sa.PrimaryKeyConstraint("version_id", "record_id", name=op.f("pk_weak_supervision_result")),
    )
    op.create_index("ix_weak_supervision_result_confidence", "weak_supervision_result", ["version_id", "confidence"])
    op.execute(FUNCTIONS.format(path=path, lock_class=LOCK_CLASS, signature=SIGNATURE))
    for statement in TRIGGERS:
        op.execute(statement)
    op.execute(VIEWS)
    for statement in MOVE_EXISTING:
        op.execute(statement)
    # the read model keeps manual labels only; its rows of records with weak-supervision labels only go
    op.execute("ALTER TABLE record_label_association DISABLE TRIGGER record_task_label_deletes")
    op.execute("DELETE FROM record_label_association WHERE source_type = 'WEAK_SUPERVISION'")
    op.execute("ALTER TABLE record_label_association ENABLE TRIGGER record_task_label_deletes")
    op.execute("DELETE FROM record_task_label WHERE NOT manual")
    op.drop_column("record_task_label", "ws_confidence")
    op.drop_column("record_task_label", "weak")
    # ``differ`` stays (its partial index too), computed against the version named in ``ws_version``: the label
    # writes' refresh computes it against the current version; after a switch the browser recomputes the task's rows
    # once (weak_supervision_differ_state names the version they were computed against)
    op.add_column("record_task_label", sa.Column("ws_version", postgresql.UUID(as_uuid=True), nullable=True))
    op.execute(
        "UPDATE record_task_label l SET ws_version = c.version_id FROM weak_supervision_current c"
        " WHERE c.labeling_task_id = l.labeling_task_id"
    )
    op.create_table(
        "weak_supervision_differ_state",
        sa.Column("labeling_task_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("version_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["labeling_task_id"],
            ["labeling_task.id"],
            name=op.f("fk_weak_supervision_differ_state_labeling_task_id_labeling_task"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("labeling_task_id", name=op.f("pk_weak_supervision_differ_state")),
    )
    op.execute(
        "INSERT INTO weak_supervision_differ_state (labeling_task_id, version_id)"
        " SELECT labeling_task_id, version_id FROM weak_supervision_current"
    )
    op.execute(READ_MODEL_APPLY.format(path=path, lock_class=READ_MODEL_LOCK))


def downgrade() -> None:
    spec = importlib.util.spec_from_file_location("read_model_0018", Path(__file__).with_name("0018_browser2_label_read_model.py"))
    assert spec is not None and spec.loader is not None
    read_model = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(read_model)
    path = _search_path()
    op.drop_table("weak_supervision_differ_state")
    op.drop_column("record_task_label", "ws_version")
    op.add_column("record_task_label", sa.Column("weak", postgresql.ARRAY(sa.Text()), nullable=True))
    op.add_column("record_task_label", sa.Column("ws_confidence", sa.Float(), nullable=True))
    op.execute("DROP FUNCTION record_task_label_apply(uuid[], bigint[])")
    apply = read_model.FUNCTIONS.split("CREATE FUNCTION record_task_label_refresh()")[0]
    op.execute(apply.format(path=path, lock_class=READ_MODEL_LOCK))
    op.execute("DROP TRIGGER weak_supervision_divert ON record_label_association")
    # the current versions' labels go back to association rows (the read model's triggers refresh their pairs)
    op.execute(
        "INSERT INTO record_label_association (id, project_id, record_id, labeling_task_id, label_id, source_type,"
        " return_type, confidence, is_gold_star, is_valid_manual_label, token_start, token_end, created_at)"
        " SELECT gen_random_uuid(), project_id, record_id, labeling_task_id, label_id, 'WEAK_SUPERVISION', 'RETURN',"
        " confidence, false, false, token_start, token_end, now() FROM weak_supervision_association"
    )
    op.execute("DROP VIEW weak_supervision_association")
    op.execute("DROP VIEW weak_supervision_label")
    op.execute("DROP TRIGGER label_deletes_weak_supervision ON label")
    op.execute("DROP TRIGGER record_deletes_weak_supervision ON record")
    for name in ("version_of(uuid)", "divert()", "forget_records()", "forget_labels()"):
        op.execute(f"DROP FUNCTION weak_supervision_{name}")
    op.drop_table("weak_supervision_result")
    op.drop_table("weak_supervision_current")
    op.drop_table("weak_supervision_version")
    op.execute("DROP FUNCTION weak_supervision_forget_versions()")
