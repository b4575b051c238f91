"""Migration 0024 (the data browser's shuffle index, and the read model's index by weak-supervision version): records
that existed before it are in the index (nothing to backfill: the key is a function of the id), a downgrade drops
both, and upgrading again builds them anew."""

from __future__ import annotations

from sqlalchemy import Connection, text
from sqlalchemy.engine import Engine

from .old_rows import old_project

PAGE = "SELECT id FROM record WHERE project_id = :p AND hashint8(id) >= :o ORDER BY hashint8(id), id LIMIT 20"


def _index(conn: Connection, name: str = "ix_record_project_shuffle") -> str | None:
    return conn.scalar(text("SELECT indexdef FROM pg_indexes WHERE indexname = :n"), {"n": name})


def _read_by_index(conn: Connection, project_id: object) -> tuple[list[int], str]:
    conn.execute(text("SET LOCAL enable_seqscan = off"))
    conn.execute(text("SET LOCAL enable_sort = off"))
    plan = "\n".join(conn.scalars(text("EXPLAIN " + PAGE), {"p": project_id, "o": -(2**31)}))
    return list(conn.scalars(text(PAGE), {"p": project_id, "o": -(2**31)})), plan


def test_old_records_are_in_the_shuffle_index_and_a_downgrade_drops_it(scratch_database: tuple[str, Engine]) -> None:
    from alembic import command

    from shared_model.migrate import alembic_config, upgrade

    url, engine = scratch_database
    upgrade(url, "0023")
    with engine.begin() as conn:
        assert _index(conn) is None
        old = old_project(conn, "topic", "MULTICLASS_CLASSIFICATION")
        keys = dict(conn.execute(text("SELECT id, hashint8(id) FROM record WHERE project_id = :p"), {"p": old.project_id}).all())
    expected = sorted(old.record_ids, key=lambda r: (keys[r], r))
    upgrade(url, "0024")
    with engine.begin() as conn:
        assert "(project_id, hashint8(id), id)" in (_index(conn) or "")
        assert "(labeling_task_id, ws_version)" in (_index(conn, "ix_record_task_label_ws_version") or "")
        ids, plan = _read_by_index(conn, old.project_id)
        assert ids == expected and "ix_record_project_shuffle" in plan, plan
    command.downgrade(alembic_config(url), "0023")
    engine.dispose()
    with engine.begin() as conn:
        assert _index(conn) is None and _index(conn, "ix_record_task_label_ws_version") is None
        ids, plan = _read_by_index(conn, old.project_id)
        assert ids == expected and "ix_record_project_shuffle" not in plan
    upgrade(url, "0024")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO record (project_id, data) VALUES (:p, '{}')"), {"p": old.project_id})
        ids, plan = _read_by_index(conn, old.project_id)
        assert len(ids) == 4 and "ix_record_project_shuffle" in plan
