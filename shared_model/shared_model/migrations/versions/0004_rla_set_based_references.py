"""record_label_association: set-based reference checks instead of per-row foreign keys

The foreign keys on record_id, label_id and source_id checked every inserted row with its own query (Postgres's
RI triggers): about 3 of the ~5.5 CPU-seconds of storing 136,000 heuristic results. They are replaced by statement
triggers with transition tables that keep the same guarantees set-wise:

- after each INSERT, COPY or UPDATE statement on record_label_association, the records, labels and information sources
  its rows name are locked FOR KEY SHARE (as a foreign key does: a concurrent delete of one of them waits for this
  transaction) and checked to exist, the record in the row's project and the label and source in its labeling task (which no
  foreign key checked);
  a missing or foreign one fails the statement with SQLSTATE 23503 (foreign_key_violation)
  naming it, so nothing of the statement is stored;
- after each DELETE statement on record, label or information_source (including those cascaded from a project or
  a labeling task), the associations of the deleted rows are deleted (ON DELETE CASCADE);
- the ids of those three tables cannot be changed (a foreign key would refuse it for referenced rows; nothing changes
  them).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

FOREIGN_KEYS = (  # (constraint, column, referred table)
    ("fk_record_label_association_record_id_record", "record_id", "record"),
    ("fk_record_label_association_label_id_label", "label_id", "label"),
    ("fk_record_label_association_source_id_information_source", "source_id", "information_source"),
)

CHECK_FUNCTION = """
CREATE FUNCTION rla_check_references() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    bad_record bigint;
    bad uuid;
    gone boolean;
BEGIN
    -- Lock first (a row deleted meanwhile is skipped), then check with a fresh snapshot: a concurrent delete either
    -- waits for this transaction, or has committed and the row is reported missing.
    PERFORM 1 FROM record r WHERE r.id IN (SELECT n.record_id FROM new_rows n) FOR KEY SHARE OF r;
    SELECT n.record_id, r.id IS NULL INTO bad_record, gone FROM new_rows n LEFT JOIN record r ON r.id = n.record_id
        WHERE r.id IS NULL OR r.project_id IS DISTINCT FROM n.project_id LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation', TABLE = 'record_label_association',
            MESSAGE = format('a label association names record %s, which %s', bad_record,
                             CASE WHEN gone THEN 'does not exist' ELSE 'belongs to another project' END);
    END IF;
    PERFORM 1 FROM label l WHERE l.id IN (SELECT n.label_id FROM new_rows n) FOR KEY SHARE OF l;
    SELECT n.label_id, l.id IS NULL INTO bad, gone FROM new_rows n LEFT JOIN label l ON l.id = n.label_id
        WHERE l.id IS NULL OR l.labeling_task_id IS DISTINCT FROM n.labeling_task_id LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation', TABLE = 'record_label_association',
            MESSAGE = format('a label association names label %s, which %s', bad,
                             CASE WHEN gone THEN 'does not exist' ELSE 'belongs to another labeling task' END);
    END IF;
    PERFORM 1 FROM information_source s
        WHERE s.id IN (SELECT n.source_id FROM new_rows n WHERE n.source_id IS NOT NULL) FOR KEY SHARE OF s;
    SELECT n.source_id, s.id IS NULL INTO bad, gone FROM new_rows n LEFT JOIN information_source s ON s.id = n.source_id
        WHERE n.source_id IS NOT NULL AND (s.id IS NULL OR s.labeling_task_id IS DISTINCT FROM n.labeling_task_id)
        LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation', TABLE = 'record_label_association',
            MESSAGE = format('a label association names information source %s, which %s', bad,
                             CASE WHEN gone THEN 'does not exist' ELSE 'belongs to another labeling task' END);
    END IF;
    RETURN NULL;
END
$$
"""

CASCADE_FUNCTIONS = {  # parent table -> delete statement (old_rows: the parent rows just deleted)
    "record": "DELETE FROM record_label_association a USING old_rows o WHERE a.record_id = o.id",
    "label": "DELETE FROM record_label_association a USING old_rows o WHERE a.label_id = o.id",
    # through the task-leading index (source_id has none of its own): the check keeps a source in its row's task
    "information_source": (
        "DELETE FROM record_label_association a USING old_rows o"
        " WHERE a.labeling_task_id = o.labeling_task_id AND a.source_id = o.id"
    ),
}

ID_GUARD_FUNCTION = """
CREATE FUNCTION refuse_id_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation', TABLE = TG_TABLE_NAME,
        MESSAGE = format('the id of a %s row never changes (label associations refer to it)', TG_TABLE_NAME);
END
$$
"""


def upgrade() -> None:
    for name, _, _ in FOREIGN_KEYS:
        op.drop_constraint(name, "record_label_association", type_="foreignkey")
    op.execute(CHECK_FUNCTION)
    for event in ("INSERT", "UPDATE"):
        op.execute(
            f"CREATE TRIGGER rla_check_references_{event.lower()} AFTER {event} ON record_label_association"
            " REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION rla_check_references()"
        )
    op.execute(ID_GUARD_FUNCTION)
    for table, statement in CASCADE_FUNCTIONS.items():
        op.execute(
            f"CREATE FUNCTION rla_delete_for_{table}() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT"
            f" AS $$ BEGIN {statement}; RETURN NULL; END $$"
        )
        op.execute(
            f"CREATE TRIGGER {table}_deletes_label_associations AFTER DELETE ON {table}"
            f" REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION rla_delete_for_{table}()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_id_never_changes BEFORE UPDATE OF id ON {table} FOR EACH ROW"
            " WHEN (OLD.id IS DISTINCT FROM NEW.id) EXECUTE FUNCTION refuse_id_change()"
        )


def downgrade() -> None:
    for table in CASCADE_FUNCTIONS:
        op.execute(f"DROP TRIGGER {table}_id_never_changes ON {table}")
        op.execute(f"DROP TRIGGER {table}_deletes_label_associations ON {table}")
        op.execute(f"DROP FUNCTION rla_delete_for_{table}()")
    op.execute("DROP FUNCTION refuse_id_change()")
    for event in ("insert", "update"):
        op.execute(f"DROP TRIGGER rla_check_references_{event} ON record_label_association")
    op.execute("DROP FUNCTION rla_check_references()")
    for name, column, table in FOREIGN_KEYS:
        op.create_foreign_key(name, "record_label_association", table, [column], ["id"], ondelete="CASCADE")
