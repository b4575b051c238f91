"""Migration 0018 (record_task_label): it fills the read model from the labels that existed before it, its triggers
keep it current, and a downgrade leaves no trigger behind."""

from __future__ import annotations

from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine

from .old_rows import old_project


def test_migration_fills_the_label_read_model_and_downgrades(scratch_database: tuple[str, Engine]) -> None:
    from alembic import command

    from shared_model.migrate import alembic_config, upgrade

    url, engine = scratch_database
    upgrade(url, "0017")
    with engine.begin() as conn:
        old = old_project(conn, "sentiment", "MULTICLASS_CLASSIFICATION")
        a, b, ids = old.a, old.b, old.record_ids
        old.label(conn, ids[0], a, "MANUAL")
        old.label(conn, ids[0], b, "WEAK_SUPERVISION", 0.7)
        old.label(conn, ids[1], a, "MANUAL")
        old.label(conn, ids[1], a, "WEAK_SUPERVISION", 0.9)
    upgrade(url, "0018")
    query = text("SELECT record_id, manual, differ, ws_confidence FROM record_task_label ORDER BY record_id")
    with engine.begin() as conn:
        assert [tuple(r) for r in conn.execute(query)] == [(ids[0], True, True, 0.7), (ids[1], True, False, 0.9)]
        old.label(conn, ids[2], b, "WEAK_SUPERVISION", 0.5)  # the triggers keep it current
        conn.execute(text("DELETE FROM record_label_association WHERE record_id = :r AND source_type = 'MANUAL'"), {"r": ids[0]})
        assert [tuple(r) for r in conn.execute(query)] == [
            (ids[0], False, False, 0.7),
            (ids[1], True, False, 0.9),
            (ids[2], False, False, 0.5),
        ]
    command.downgrade(alembic_config(url), "0017")
    engine.dispose()
    assert "record_task_label" not in set(inspect(engine).get_table_names())
    with engine.begin() as conn:  # no trigger is left behind to fail a write
        old.label(conn, ids[2], a, "MANUAL")
