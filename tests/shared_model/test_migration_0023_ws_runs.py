"""Migration 0023 (weak-supervision labels per version): the labels that existed become each task's current version,
the read model keeps manual labels only, and a downgrade puts the current labels back as association rows."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Engine

from .old_rows import old_project


def test_migration_moves_weak_labels_into_a_current_version_and_downgrades(scratch_database: tuple[str, Engine]) -> None:
    from alembic import command

    from shared_model.migrate import alembic_config, upgrade

    url, engine = scratch_database
    upgrade(url, "0022")
    with engine.begin() as conn:
        old = old_project(conn, "tags", "MULTILABEL_CLASSIFICATION")
        a, b, ids = old.a, old.b, old.record_ids
        old.label(conn, ids[0], a, "MANUAL")
        old.label(conn, ids[0], b, "WEAK_SUPERVISION", 0.7)
        old.label(conn, ids[0], a, "WEAK_SUPERVISION", 0.6)
        old.label(conn, ids[1], b, "WEAK_SUPERVISION", 0.9)  # weak supervision only
    upgrade(url, "0023")
    with engine.begin() as conn:
        rows = conn.execute(
            text("SELECT record_id, label_ids, confidences, weak, confidence FROM weak_supervision_label ORDER BY record_id")
        ).all()
        assert [(r[0], sorted(map(str, r[1])), sorted(r[2]), sorted(r[3]), r[4]) for r in rows] == [
            (ids[0], sorted([str(a), str(b)]), [0.6, 0.7], sorted([f"{a}:-1:-1", f"{b}:-1:-1"]), 0.7),
            (ids[1], [str(b)], [0.9], [f"{b}:-1:-1"], 0.9),
        ]
        assert conn.scalar(text("SELECT count(*) FROM record_label_association WHERE source_type = 'WEAK_SUPERVISION'")) == 0
        assert [tuple(r) for r in conn.execute(text("SELECT record_id, manual FROM record_task_label"))] == [(ids[0], True)]
        old.label(conn, ids[2], a, "WEAK_SUPERVISION", 0.5)  # an older writer's row goes into the current version
        assert conn.scalar(text("SELECT count(*) FROM weak_supervision_association")) == 4
        assert conn.scalar(text("SELECT count(*) FROM record_label_association WHERE source_type = 'WEAK_SUPERVISION'")) == 0
    command.downgrade(alembic_config(url), "0022")
    engine.dispose()
    with engine.begin() as conn:
        weak = conn.execute(
            text(
                "SELECT record_id, label_id, confidence FROM record_label_association WHERE source_type = 'WEAK_SUPERVISION'"
                " ORDER BY record_id, confidence"
            )
        ).all()
        assert [tuple(r) for r in weak] == [(ids[0], a, 0.6), (ids[0], b, 0.7), (ids[1], b, 0.9), (ids[2], a, 0.5)]
        read_model = conn.execute(text("SELECT record_id, differ, ws_confidence FROM record_task_label ORDER BY record_id"))
        assert [tuple(r) for r in read_model] == [(ids[0], True, 0.7), (ids[1], False, 0.9), (ids[2], False, 0.5)]
    upgrade(url, "0023")
