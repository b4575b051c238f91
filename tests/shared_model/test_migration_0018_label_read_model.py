"""Migration 0018 (record_task_label): it fills the read model from the labels that existed before it, its triggers
keep it current, and a downgrade leaves no trigger behind."""

from __future__ import annotations

import uuid

from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine


def test_migration_fills_the_label_read_model_and_downgrades(scratch_database: tuple[str, Engine]) -> None:
    from alembic import command

    from shared_model.migrate import alembic_config, upgrade

    url, engine = scratch_database
    upgrade(url, "0017")
    p, t, a, b = (uuid.uuid4() for _ in range(4))
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO project (id, name, description, tokenizer, status, created_at)"
                " VALUES (:p, 'old', '', 'en', 'READY', now())"
            ),
            {"p": p},
        )
        ids = list(
            conn.scalars(
                text("INSERT INTO record (project_id, data) SELECT :p, '{}'::jsonb FROM generate_series(1, 3) RETURNING id"),
                {"p": p},
            )
        )
        conn.execute(
            text(
                "INSERT INTO labeling_task (id, project_id, name, task_target, task_type, created_at)"
                " VALUES (:t, :p, 'sentiment', 'ON_WHOLE_RECORD', 'MULTICLASS_CLASSIFICATION', now())"
            ),
            {"t": t, "p": p},
        )
        for label, name in ((a, "a"), (b, "b")):
            conn.execute(
                text(
                    "INSERT INTO label (id, project_id, labeling_task_id, name, color, created_at)"
                    " VALUES (:l, :p, :t, :n, '#000000', now())"
                ),
                {"l": label, "p": p, "t": t, "n": name},
            )

        def label(record: int, label_id: uuid.UUID, source: str, confidence: float | None = None) -> None:
            conn.execute(
                text(
                    "INSERT INTO record_label_association (id, project_id, record_id, labeling_task_id, label_id,"
                    " source_type, return_type, confidence, is_gold_star, is_valid_manual_label, created_at)"
                    " VALUES (gen_random_uuid(), :p, :r, :t, :l, :s, 'RETURN', :c, false, :v, now())"
                ),
                {"p": p, "r": record, "t": t, "l": label_id, "s": source, "c": confidence, "v": source == "MANUAL"},
            )

        label(ids[0], a, "MANUAL")
        label(ids[0], b, "WEAK_SUPERVISION", 0.7)
        label(ids[1], a, "MANUAL")
        label(ids[1], a, "WEAK_SUPERVISION", 0.9)
    upgrade(url, "0018")
    query = text("SELECT record_id, manual, differ, ws_confidence FROM record_task_label ORDER BY record_id")
    with engine.begin() as conn:
        assert [tuple(r) for r in conn.execute(query)] == [(ids[0], True, True, 0.7), (ids[1], True, False, 0.9)]
        label(ids[2], b, "WEAK_SUPERVISION", 0.5)  # the triggers keep it current
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
        label(ids[2], a, "MANUAL")
