"""record_label_association: set-based reference checks instead of per-row foreign keys

The foreign keys on record_id, label_id and source_id checked every inserted row with its own query (Postgres's
RI triggers): about 3 of the ~5.5 CPU-seconds of storing 136,000 heuristic results. They are replaced by statement
triggers with transition tables that keep the same guarantees set-wise:

- after each INSERT or COPY statement on record_label_association, and each UPDATE that changes a reference, the
  records, labels and information sources its rows name are locked FOR KEY SHARE (as a foreign key does: a concurrent
  delete of one of them waits for this transaction) and checked to exist, the record in the row's project and the
  label and source in its labeling task and project (which no foreign key checked); a missing or foreign one fails
  the statement with SQLSTATE 23503 (foreign_key_violation) naming it, so nothing of the statement is stored;
- after each DELETE statement on record, label or information_source (including those cascaded from a project or
  a labeling task), the associations of the deleted rows are deleted (ON DELETE CASCADE); such deletes need READ
  COMMITTED isolation (others are refused with SQLSTATE 40001: their snapshot could miss concurrent rows); a TRUNCATE
  of one of them removes the associations that named its rows;
- the ids of those three tables cannot be changed (a foreign key would refuse it for referenced rows; nothing changes
  them);
- existing rows whose project or task column disagrees with their record or label are repaired first, and rows that
  name a label or source of another task or project are removed (nothing the services write; a downgrade removes
  rows the restored foreign keys would refuse).

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

# The rows a statement stored, by trigger: an UPDATE is checked only where it changed a reference (as a foreign key:
# flag updates such as is_valid_manual_label lock nothing).
CHECKED_ROWS = {
    "insert": "new_rows",
    "update": (
        "(SELECT c.* FROM new_rows c JOIN old_rows o ON o.id = c.id WHERE"
        " (c.project_id, c.record_id, c.labeling_task_id, c.label_id, c.source_id) IS DISTINCT FROM"
        " (o.project_id, o.record_id, o.labeling_task_id, o.label_id, o.source_id))"
    ),
}

CHECK_FUNCTION = """
CREATE FUNCTION rla_check_{event}_references() RETURNS trigger LANGUAGE plpgsql SET search_path = {path} AS $$
DECLARE
    bad_record bigint;
    bad uuid;
    gone boolean;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM {rows} n) THEN
        RETURN NULL;
    END IF;
    -- Lock first (a row deleted meanwhile is skipped), then check with a fresh snapshot: a concurrent delete either
    -- waits for this transaction, or has committed and the row is reported missing.
    PERFORM 1 FROM record r WHERE r.id IN (SELECT n.record_id FROM {rows} n) FOR KEY SHARE OF r;
    SELECT n.record_id, r.id IS NULL INTO bad_record, gone FROM {rows} n LEFT JOIN record r ON r.id = n.record_id
        WHERE r.id IS NULL OR r.project_id IS DISTINCT FROM n.project_id LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation', TABLE = 'record_label_association',
            MESSAGE = format('a label association names record %s, which %s', bad_record,
                             CASE WHEN gone THEN 'does not exist' ELSE 'belongs to another project' END);
    END IF;
    PERFORM 1 FROM label l WHERE l.id IN (SELECT n.label_id FROM {rows} n) FOR KEY SHARE OF l;
    SELECT n.label_id, l.id IS NULL INTO bad, gone FROM {rows} n LEFT JOIN label l ON l.id = n.label_id
        WHERE l.id IS NULL OR l.labeling_task_id IS DISTINCT FROM n.labeling_task_id
            OR l.project_id IS DISTINCT FROM n.project_id LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation', TABLE = 'record_label_association',
            MESSAGE = format('a label association names label %s, which %s', bad,
                             CASE WHEN gone THEN 'does not exist' ELSE 'belongs to another labeling task or project' END);
    END IF;
    PERFORM 1 FROM information_source s
        WHERE s.id IN (SELECT n.source_id FROM {rows} n WHERE n.source_id IS NOT NULL) FOR KEY SHARE OF s;
    SELECT n.source_id, s.id IS NULL INTO bad, gone FROM {rows} n LEFT JOIN information_source s ON s.id = n.source_id
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

# parent table -> (delete after a DELETE statement: old_rows = the parent rows; after a TRUNCATE, which may name the
# associations' table too, so that it is not truncated again: "cannot TRUNCATE ... being used by active queries")
CASCADES = {
    "record": (
        "DELETE FROM record_label_association a USING old_rows o WHERE a.record_id = o.id",
        "DELETE FROM record_label_association",
    ),
    "label": (
        "DELETE FROM record_label_association a USING old_rows o WHERE a.label_id = o.id",
        "DELETE FROM record_label_association",
    ),
    # through the task-leading index (source_id has none of its own): the check keeps a source in its row's task
    "information_source": (
        "DELETE FROM record_label_association a USING old_rows o"
        " WHERE a.labeling_task_id = o.labeling_task_id AND a.source_id = o.id",
        "DELETE FROM record_label_association WHERE source_id IS NOT NULL",
    ),
}

# A foreign key's cascade under REPEATABLE READ or SERIALIZABLE fails on rows committed after the snapshot; a
# statement with the transaction's snapshot would miss them and leave orphans, so those isolation levels are refused
# (every service uses READ COMMITTED).
CASCADE_FUNCTION = """
CREATE FUNCTION rla_delete_for_{table}() RETURNS trigger LANGUAGE plpgsql SET search_path = {path} AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM old_rows) THEN
        RETURN NULL;
    END IF;
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION USING ERRCODE = 'serialization_failure',
            MESSAGE = format('deleting %s rows needs READ COMMITTED isolation (their label associations go too)',
                             TG_TABLE_NAME);
    END IF;
    {delete};
    RETURN NULL;
END
$$
"""

TRUNCATE_FUNCTION = """
CREATE FUNCTION rla_truncate_for_{table}() RETURNS trigger LANGUAGE plpgsql SET search_path = {path} AS $$
BEGIN
    {statement};
    RETURN NULL;
END
$$
"""

ID_GUARD_FUNCTION = """
CREATE FUNCTION refuse_id_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation', TABLE = TG_TABLE_NAME,
        MESSAGE = format('the id of a %s row never changes (label associations refer to it)', TG_TABLE_NAME);
END
$$
"""

# Rows that the foreign keys allowed but the new checks refuse (a project or task column that disagrees with the
# record or the label; a source or label of another task or project): the derived columns are repaired from the
# record and the label, rows that still disagree are removed, so that later updates of these rows cannot fail.
REPAIRS = (
    "UPDATE record_label_association a SET project_id = r.project_id FROM record r"
    " WHERE r.id = a.record_id AND a.project_id IS DISTINCT FROM r.project_id",
    "UPDATE record_label_association a SET labeling_task_id = l.labeling_task_id FROM label l"
    " WHERE l.id = a.label_id AND a.labeling_task_id IS DISTINCT FROM l.labeling_task_id",
    "DELETE FROM record_label_association a USING label l WHERE l.id = a.label_id AND l.project_id <> a.project_id",
    "DELETE FROM record_label_association a USING information_source s"
    " WHERE s.id = a.source_id AND s.labeling_task_id <> a.labeling_task_id",
)

ORPHANS = (  # before foreign keys come back (downgrade): rows they would refuse
    "DELETE FROM record_label_association a WHERE NOT EXISTS (SELECT 1 FROM record r WHERE r.id = a.record_id)"
    " OR NOT EXISTS (SELECT 1 FROM label l WHERE l.id = a.label_id)"
    " OR (a.source_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM information_source s WHERE s.id = a.source_id))"
)


def _search_path() -> str:
    """The migration's schema, then pg_temp last: a session's temporary table cannot shadow ours in a trigger."""
    schema = op.get_bind().exec_driver_sql("SELECT current_schema()").scalar()
    return '"' + str(schema).replace('"', '""') + '", pg_temp'


def upgrade() -> None:
    path = _search_path()
    for name, _, _ in FOREIGN_KEYS:
        op.drop_constraint(name, "record_label_association", type_="foreignkey")
    for statement in REPAIRS:
        op.execute(statement)
    for event, rows in CHECKED_ROWS.items():
        op.execute(CHECK_FUNCTION.format(event=event, rows=rows, path=path))
        transition = "NEW TABLE AS new_rows" if event == "insert" else "OLD TABLE AS old_rows NEW TABLE AS new_rows"
        op.execute(
            f"CREATE TRIGGER rla_check_references_{event} AFTER {event.upper()} ON record_label_association"
            f" REFERENCING {transition} FOR EACH STATEMENT EXECUTE FUNCTION rla_check_{event}_references()"
        )
    op.execute(ID_GUARD_FUNCTION)
    for table, (delete, truncate) in CASCADES.items():
        op.execute(CASCADE_FUNCTION.format(table=table, delete=delete, path=path))
        op.execute(
            f"CREATE TRIGGER {table}_deletes_label_associations AFTER DELETE ON {table}"
            f" REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION rla_delete_for_{table}()"
        )
        op.execute(TRUNCATE_FUNCTION.format(table=table, statement=truncate, path=path))
        op.execute(
            f"CREATE TRIGGER {table}_truncates_label_associations AFTER TRUNCATE ON {table}"
            f" FOR EACH STATEMENT EXECUTE FUNCTION rla_truncate_for_{table}()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_id_never_changes BEFORE UPDATE OF id ON {table} FOR EACH ROW"
            " WHEN (OLD.id IS DISTINCT FROM NEW.id) EXECUTE FUNCTION refuse_id_change()"
        )


def downgrade() -> None:
    for table in CASCADES:
        op.execute(f"DROP TRIGGER {table}_id_never_changes ON {table}")
        op.execute(f"DROP TRIGGER {table}_truncates_label_associations ON {table}")
        op.execute(f"DROP FUNCTION rla_truncate_for_{table}()")
        op.execute(f"DROP TRIGGER {table}_deletes_label_associations ON {table}")
        op.execute(f"DROP FUNCTION rla_delete_for_{table}()")
    op.execute("DROP FUNCTION refuse_id_change()")
    for event in CHECKED_ROWS:
        op.execute(f"DROP TRIGGER rla_check_references_{event} ON record_label_association")
        op.execute(f"DROP FUNCTION rla_check_{event}_references()")
    op.execute(ORPHANS)
    for name, column, table in FOREIGN_KEYS:
        op.create_foreign_key(name, "record_label_association", table, [column], ["id"], ondelete="CASCADE")
