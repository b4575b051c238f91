"""project_record_count (migration 0011): inserts, deletes, truncates and project deletion keep each project's record
count equal to a real count; the migration fills it for records that existed before it."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine

from shared_model.db import session_scope
from shared_model.models import Project, ProjectRecordCount, Record


def _project(name: str) -> uuid.UUID:
    with session_scope() as session:
        project = Project(name=name)
        session.add(project)
        session.flush()
        return project.id


def _stored_and_real(project_id: uuid.UUID) -> tuple[int, int]:
    with session_scope() as session:
        stored = session.scalar(select(ProjectRecordCount.records).where(ProjectRecordCount.project_id == project_id))
        real = session.scalar(select(func.count()).select_from(Record).where(Record.project_id == project_id))
        return int(stored or 0), int(real or 0)


def test_counts_follow_inserts_deletes_and_truncates(clean_db: str) -> None:
    a, b = _project("a"), _project("b")
    with session_scope() as session:  # one statement over two projects, then row by row
        session.execute(
            text("INSERT INTO record (project_id, data) SELECT :p, '{}'::jsonb FROM generate_series(1, 250)"), {"p": a}
        )
        session.add_all([Record(project_id=b, data={"i": i}) for i in range(7)])
    assert _stored_and_real(a) == (250, 250) and _stored_and_real(b) == (7, 7)
    with session_scope() as session:
        session.execute(text("DELETE FROM record WHERE project_id = :p AND id % 5 = 0"), {"p": a})
    assert _stored_and_real(a)[0] == _stored_and_real(a)[1] == 200
    with session_scope() as session:
        session.execute(text("DELETE FROM project WHERE id = :p"), {"p": b})  # cascades to records and the count
        assert session.scalar(select(func.count()).select_from(ProjectRecordCount).where(ProjectRecordCount.project_id == b)) == 0
    with session_scope() as session:
        session.execute(text("TRUNCATE record CASCADE"))
    assert _stored_and_real(a) == (0, 0)


def test_migration_counts_existing_records_and_downgrades(scratch_database: tuple[str, Engine]) -> None:
    from alembic import command
    from sqlalchemy import inspect

    from shared_model.migrate import alembic_config, upgrade

    url, engine = scratch_database
    upgrade(url, "0010")
    project_id = uuid.uuid4()
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO project (id, name, description, tokenizer, status, created_at)"
                " VALUES (:p, 'old', '', 'en', 'READY', now())"
            ),
            {"p": project_id},
        )
        conn.execute(
            text("INSERT INTO record (project_id, data) SELECT :p, '{}'::jsonb FROM generate_series(1, 42)"), {"p": project_id}
        )
    upgrade(url, "0011")
    with engine.begin() as conn:
        assert conn.scalar(text("SELECT records FROM project_record_count WHERE project_id = :p"), {"p": project_id}) == 42
        conn.execute(text("INSERT INTO record (project_id, data) VALUES (:p, '{}')"), {"p": project_id})
        assert conn.scalar(text("SELECT records FROM project_record_count WHERE project_id = :p"), {"p": project_id}) == 43
    command.downgrade(alembic_config(url), "0010")
    engine.dispose()
    assert "project_record_count" not in set(inspect(engine).get_table_names())
    with engine.begin() as conn:  # no trigger is left behind to fail an insert
        conn.execute(text("INSERT INTO record (project_id, data) VALUES (:p, '{}')"), {"p": project_id})
