"""record_tokenized without a foreign key on project_id (migration 0003): the schema and the cascade still hold."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, inspect, select, text

from shared_model.db import get_engine, session_scope
from shared_model.models import Attribute, DataType, Project, Record, RecordTokenized
from shared_model.models.base import Base
from tokenizer.tokenize import project_target, tokenize_stale_records


def test_migrated_database_matches_the_models(clean_db: str) -> None:
    engine = get_engine()
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        keys = inspect(conn).get_foreign_keys("record_tokenized")
    assert diff == []
    assert [(k["constrained_columns"], k["referred_table"], k["options"].get("ondelete")) for k in keys] == [
        (["record_id"], "record", "CASCADE")
    ]


def test_deleting_a_project_or_a_record_removes_its_docbins(clean_db: str) -> None:
    ids = []
    for name in ("gone", "kept"):
        with session_scope() as session:
            project = Project(name=name, tokenizer="en")
            session.add(project)
            session.flush()
            session.add(Attribute(project_id=project.id, name="t", data_type=DataType.TEXT, relative_position=0))
            session.add_all([Record(project_id=project.id, data={"t": f"{name} record {i}"}) for i in range(5)])
            session.flush()
            target = project_target(session, project.id)
            ids.append(project.id)
        assert tokenize_stale_records(target, lambda *_: None).stored == 5
    gone, kept = ids

    def docbins(project_id: object) -> int:
        with session_scope() as session:
            query = select(func.count()).select_from(RecordTokenized).where(RecordTokenized.project_id == project_id)
            return int(session.scalar(query) or 0)

    with session_scope() as session:
        session.execute(text("DELETE FROM record WHERE id = (SELECT min(id) FROM record WHERE project_id = :p)"), {"p": kept})
    assert docbins(kept) == 4
    with session_scope() as session:  # in SQL: the database's cascades, not the ORM's, must remove them
        session.execute(text("DELETE FROM project WHERE id = :p"), {"p": gone})
    assert docbins(gone) == 0 and docbins(kept) == 4
