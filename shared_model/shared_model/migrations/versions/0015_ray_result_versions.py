"""Heuristic results versioned per run: chunks tagged with their version, a pointer per heuristic names the current one

A heuristic run used to replace its heuristic's votes in one transaction that lived as long as the run (up to an
hour: 12 writer threads each holding one). Now:

- ``heuristic_result_chunk`` (the former table ``heuristic_result``, renamed, with its checks, triggers and indexes)
  holds the chunks of every version; ``version_id`` names the version a chunk belongs to (a heuristic run writes
  its votes under its own id, each chunk in a short transaction of its own);
- ``heuristic_result_current`` holds, per heuristic, the version that readers see; a finished run becomes current by
  switching that one row (a short transaction, whatever the number of votes); superseded versions, and those of runs
  that failed, were cancelled or were killed, are garbage-collected (``shared_model.heuristic_results``);
- ``heuristic_result`` is now a VIEW of the current versions' chunks, with the same columns as the former table
  (plus ``version_id``, and the chunk's ``xmin`` for the data browser's fingerprint), so every reader reads only
  current results; INSERT and DELETE on the view write the current version in the caller's transaction (as before:
  pre-computed results, zero-shot, snapshot import); ``heuristic_association`` (one row per vote) reads the view;
- the record-delete and truncate cleanups (0005) now rewrite the chunks of every version.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

LOCK_CLASS = 5005  # as in 0005

COLUMNS = (
    "id, project_id, labeling_task_id, source_id, label_id, record_ids, first_record_id, last_record_id,"
    " token_starts, token_ends, confidences, created_at"
)

CURRENT_VIEW = f"""
CREATE VIEW heuristic_result AS
SELECT {", ".join("c." + c.strip() for c in COLUMNS.split(","))}, c.version_id, c.xmin
FROM heuristic_result_chunk c
JOIN heuristic_result_current p ON p.source_id = c.source_id AND p.version_id = c.version_id
"""

ASSOCIATION_VIEW = """
CREATE VIEW heuristic_association AS
SELECT h.project_id, h.labeling_task_id, h.source_id, h.label_id, v.record_id, v.token_start, v.token_end,
       coalesce(v.confidence, 1.0) AS confidence, h.created_at, h.id AS chunk_id
FROM heuristic_result h
CROSS JOIN LATERAL unnest(h.record_ids, h.token_starts, h.token_ends, h.confidences)
    AS v(record_id, token_start, token_end, confidence)
"""

# The heuristic's current version, made (a new id) when it has none yet: writers that replace results in their own
# transaction write into it.
VERSION_FUNCTION = """
CREATE FUNCTION heuristic_result_version(source uuid) RETURNS uuid LANGUAGE plpgsql SET search_path = {path} AS $$
DECLARE
    found uuid;
BEGIN
    SELECT version_id INTO found FROM heuristic_result_current WHERE source_id = source;
    IF found IS NULL THEN
        INSERT INTO heuristic_result_current (source_id, version_id) VALUES (source, gen_random_uuid())
            ON CONFLICT (source_id) DO NOTHING;
        SELECT version_id INTO found FROM heuristic_result_current WHERE source_id = source;
    END IF;
    RETURN found;
END
$$
"""

WRITE_FUNCTION = """
CREATE FUNCTION heuristic_result_write() RETURNS trigger LANGUAGE plpgsql SET search_path = {path} AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        DELETE FROM heuristic_result_chunk WHERE id = OLD.id;
        RETURN OLD;
    END IF;
    INSERT INTO heuristic_result_chunk (project_id, labeling_task_id, source_id, label_id, record_ids,
            first_record_id, last_record_id, token_starts, token_ends, confidences, created_at, version_id)
        VALUES (NEW.project_id, NEW.labeling_task_id, NEW.source_id, NEW.label_id, NEW.record_ids,
            NEW.first_record_id, NEW.last_record_id, NEW.token_starts, NEW.token_ends, NEW.confidences,
            coalesce(NEW.created_at, now()), heuristic_result_version(NEW.source_id))
        RETURNING id INTO NEW.id;
    RETURN NEW;
END
$$
"""


def _search_path() -> str:
    schema = op.get_bind().exec_driver_sql("SELECT current_schema()").scalar()
    return '"' + str(schema).replace('"', '""') + '", pg_temp'


def _cleanup_functions(table: str) -> list[str]:
    """0005's record-delete and truncate cleanups, rewriting the chunks of ``table``."""
    spec = importlib.util.spec_from_file_location("chunks_0005", Path(__file__).with_name("0005_heuristic_result_chunks.py"))
    assert spec is not None and spec.loader is not None
    chunks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(chunks)
    path = _search_path()

    def retarget(sql: str) -> str:
        return re.sub(r"\bheuristic_result\b", table, sql)

    cleanup = chunks.CLEANUP_FUNCTION.format(
        path=path,
        lock_class=LOCK_CLASS,
        live=chunks.LIVE_PROJECTS,
        few=retarget(chunks.CLEANUP_STATEMENT.format(hit=chunks.HIT_FEW)),
        many=retarget(chunks.CLEANUP_STATEMENT.format(hit=chunks.HIT_MANY)),
    )
    truncate = retarget(chunks.TRUNCATE_FUNCTION.format(path=path))
    return [
        "DROP TRIGGER record_deletes_heuristic_results ON record",
        "DROP FUNCTION heuristic_result_forget_records()",
        cleanup,
        "CREATE TRIGGER record_deletes_heuristic_results AFTER DELETE ON record REFERENCING OLD TABLE AS old_rows"
        " FOR EACH STATEMENT EXECUTE FUNCTION heuristic_result_forget_records()",
        "DROP TRIGGER record_truncates_heuristic_results ON record",
        "DROP FUNCTION heuristic_result_truncate_for_record()",
        truncate,
        "CREATE TRIGGER record_truncates_heuristic_results AFTER TRUNCATE ON record"
        " FOR EACH STATEMENT EXECUTE FUNCTION heuristic_result_truncate_for_record()",
    ]


def upgrade() -> None:
    path = _search_path()
    op.execute("DROP VIEW heuristic_association")
    op.rename_table("heuristic_result", "heuristic_result_chunk")
    op.create_table(
        "heuristic_result_current",
        sa.Column("source_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("version_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("switched_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["information_source.id"],
            name=op.f("fk_heuristic_result_current_source_id_information_source"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("source_id", name=op.f("pk_heuristic_result_current")),
    )
    op.add_column("heuristic_result_chunk", sa.Column("version_id", postgresql.UUID(as_uuid=True), nullable=True))
    # the existing results become each heuristic's current version (the check trigger is skipped: nothing but the
    # version changes)
    op.execute(
        "INSERT INTO heuristic_result_current (source_id, version_id)"
        " SELECT source_id, gen_random_uuid() FROM (SELECT DISTINCT source_id FROM heuristic_result_chunk) s"
    )
    op.execute("SELECT set_config('refinery.heuristic_result_cleanup', 'on', true)")
    op.execute(
        "UPDATE heuristic_result_chunk c SET version_id = p.version_id FROM heuristic_result_current p"
        " WHERE p.source_id = c.source_id"
    )
    op.execute("SELECT set_config('refinery.heuristic_result_cleanup', 'off', true)")
    op.alter_column("heuristic_result_chunk", "version_id", nullable=False)
    op.drop_index("ix_heuristic_result_source_id", table_name="heuristic_result_chunk")
    op.create_index("ix_heuristic_result_chunk_version", "heuristic_result_chunk", ["source_id", "version_id"])
    for statement in _cleanup_functions("heuristic_result_chunk"):
        op.execute(statement)
    op.execute(CURRENT_VIEW)
    op.execute("ALTER VIEW heuristic_result ALTER COLUMN created_at SET DEFAULT now()")
    op.execute(ASSOCIATION_VIEW)
    op.execute(VERSION_FUNCTION.format(path=path))
    op.execute(WRITE_FUNCTION.format(path=path))
    op.execute(
        "CREATE TRIGGER heuristic_result_write INSTEAD OF INSERT OR DELETE ON heuristic_result"
        " FOR EACH ROW EXECUTE FUNCTION heuristic_result_write()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER heuristic_result_write ON heuristic_result")
    op.execute("DROP FUNCTION heuristic_result_write()")
    op.execute("DROP FUNCTION heuristic_result_version(uuid)")
    op.execute("DROP VIEW heuristic_association")
    op.execute("DROP VIEW heuristic_result")
    op.execute(
        "DELETE FROM heuristic_result_chunk c WHERE NOT EXISTS (SELECT 1 FROM heuristic_result_current p"
        " WHERE p.source_id = c.source_id AND p.version_id = c.version_id)"
    )
    op.drop_index("ix_heuristic_result_chunk_version", table_name="heuristic_result_chunk")
    op.drop_column("heuristic_result_chunk", "version_id")
    op.drop_table("heuristic_result_current")
    op.rename_table("heuristic_result_chunk", "heuristic_result")
    op.create_index("ix_heuristic_result_source_id", "heuristic_result", ["source_id"])
    for statement in _cleanup_functions("heuristic_result"):
        op.execute(statement)
    op.execute(ASSOCIATION_VIEW)
