"""Migration 0025 (the read model's index by weak-supervision version): it is built over the rows that existed
before it, the rows of another version are found, a downgrade drops it, and upgrading again builds it anew."""

from __future__ import annotations

from sqlalchemy import Connection, text
from sqlalchemy.engine import Engine

from .old_rows import old_project

STALE = (
    "SELECT record_id FROM record_task_label WHERE labeling_task_id = :t"
    " AND (ws_version < :v OR ws_version > :v OR ws_version IS NULL) ORDER BY record_id"
)


def _index(conn: Connection) -> str | None:
    return conn.scalar(text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_record_task_label_ws_version'"))


def _stale(conn: Connection, task_id: object, version: object) -> list[int]:
    return list(conn.scalars(text(STALE), {"t": task_id, "v": version}))


def test_old_read_model_rows_are_found_by_version_and_a_downgrade_drops_the_index(scratch_database: tuple[str, Engine]) -> None:
    from alembic import command

    from shared_model.migrate import alembic_config, upgrade

    url, engine = scratch_database
    upgrade(url, "0024")
    with engine.begin() as conn:
        assert _index(conn) is None
        old = old_project(conn, "topic", "MULTICLASS_CLASSIFICATION")
        old.label(conn, old.record_ids[0], old.a, "MANUAL")
        old.label(conn, old.record_ids[1], old.b, "MANUAL")
        conn.execute(text("SELECT weak_supervision_version_of(:t)"), {"t": old.task_id})
        version = conn.scalar(
            text("SELECT version_id FROM weak_supervision_current WHERE labeling_task_id = :t"), {"t": old.task_id}
        )
        conn.execute(
            text("UPDATE record_task_label SET ws_version = :v WHERE record_id = :r"), {"v": version, "r": old.record_ids[0]}
        )
    upgrade(url, "0025")
    with engine.begin() as conn:
        assert "(labeling_task_id, ws_version)" in (_index(conn) or "")
        assert _stale(conn, old.task_id, version) == [old.record_ids[1]]
    command.downgrade(alembic_config(url), "0024")
    engine.dispose()
    with engine.begin() as conn:
        assert _index(conn) is None
        assert _stale(conn, old.task_id, version) == [old.record_ids[1]]
    upgrade(url, "0025")
    with engine.begin() as conn:
        assert _index(conn) is not None
