"""Migration 0024 (weak-supervision counts kept with each version): the existing versions' counts are computed, every
later write to a version's rows (a legacy writer's rows moved into it, label and record deletes, a version deleted)
keeps them equal to the counts of its rows, and a downgrade drops them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.engine import Engine

from .old_rows import old_project

KEY = (
    "CASE WHEN {c} > 0 AND {c} < 1 AND abs({c} * 100 - round({c} * 100)) > 1e-6 THEN (floor({c} * 100) + 0.5) / 100 ELSE {c} END"
)


def counted(conn: Connection) -> dict[str, Any]:
    """Per version: the sums of its count rows."""
    labels = conn.execute(
        text(
            "SELECT version_id, label_id, sum(labels), sum(signatures) FROM weak_supervision_count"
            " WHERE label_id IS NOT NULL GROUP BY 1, 2 HAVING sum(labels) <> 0 OR sum(signatures) <> 0"
        )
    ).all()
    keys = conn.execute(
        text(
            "SELECT version_id, confidence, sum(records), sum(labels) FROM weak_supervision_count"
            " WHERE label_id IS NULL GROUP BY 1, 2 HAVING sum(records) <> 0 OR sum(labels) <> 0"
        )
    ).all()
    return {"labels": sorted(map(tuple, labels), key=str), "keys": sorted(map(tuple, keys), key=str)}


def from_rows(conn: Connection) -> dict[str, Any]:
    """The same figures counted from the versions' rows."""
    labels = conn.execute(
        text(
            "SELECT version_id, l, sum(n), sum(s) FROM ("
            " SELECT version_id, u.l, count(*) AS n, 0 AS s FROM weak_supervision_result, unnest(label_ids) u(l) GROUP BY 1, 2"
            " UNION ALL SELECT version_id, split_part(x, ':', 1)::uuid, 0, count(*) FROM weak_supervision_result,"
            " unnest(weak) x GROUP BY 1, 2) q GROUP BY 1, 2"
        )
    ).all()
    keys = conn.execute(
        text(
            "SELECT version_id, k, sum(r), sum(n) FROM ("
            f" SELECT version_id, {KEY.format(c='confidence')} AS k, count(*) AS r, 0 AS n FROM weak_supervision_result"
            " GROUP BY 1, 2 UNION ALL"
            f" SELECT version_id, {KEY.format(c='u.c')}, 0, count(*) FROM weak_supervision_result, unnest(confidences) u(c)"
            " GROUP BY 1, 2) q GROUP BY 1, 2"
        )
    ).all()
    return {"labels": sorted(map(tuple, labels), key=str), "keys": sorted(map(tuple, keys), key=str)}


def test_migration_counts_existing_versions_keeps_them_on_every_write_and_downgrades(
    scratch_database: tuple[str, Engine],
) -> None:
    from alembic import command

    from shared_model.migrate import alembic_config, upgrade

    url, engine = scratch_database
    upgrade(url, "0023")
    with engine.begin() as conn:
        old = old_project(conn, "tags", "MULTILABEL_CLASSIFICATION")
        a, b, ids = old.a, old.b, old.record_ids
        old.label(conn, ids[0], a, "WEAK_SUPERVISION", 0.7)
        old.label(conn, ids[0], b, "WEAK_SUPERVISION", 0.1)  # a multiple of 0.01: counted under its own value
        old.label(conn, ids[1], b, "WEAK_SUPERVISION", 0.937)  # the middle of its hundredth: 0.935
        old.label(conn, ids[2], a, "WEAK_SUPERVISION", None)
    upgrade(url, "0024")
    with engine.begin() as conn:
        version = conn.scalar(text("SELECT version_id FROM weak_supervision_current"))
        before = counted(conn)
        assert before == from_rows(conn)
        assert (version, a, 2, 2) in before["labels"] and (version, b, 2, 2) in before["labels"]
        assert (version, 0.935, 1, 1) in before["keys"] and (version, 0.1, 0, 1) in before["keys"]
        assert (version, None, 1, 1) in before["keys"]  # the record whose only label has no confidence
        assert sum(r[2] for r in before["keys"]) == 3  # a version's records: its confidence rows' ``records``
    with engine.begin() as conn:  # an older writer's row: moved into the current version (a row updated)
        old.label(conn, ids[1], a, "WEAK_SUPERVISION", 0.2)
    with engine.begin() as conn:
        assert counted(conn) == from_rows(conn) != before
        conn.execute(text("DELETE FROM label WHERE id = :l"), {"l": b})  # rows updated, and one deleted
    with engine.begin() as conn:
        assert counted(conn) == from_rows(conn)
        assert not [r for r in counted(conn)["labels"] if r[1] == b]
        conn.execute(text("DELETE FROM record WHERE id = :r"), {"r": ids[2]})
    with engine.begin() as conn:
        assert counted(conn) == from_rows(conn)
        assert sum(r[2] for r in counted(conn)["keys"]) == 2
        conn.execute(text("DELETE FROM weak_supervision_current"))
        conn.execute(text("DELETE FROM weak_supervision_version WHERE id = :v"), {"v": version})
    with engine.begin() as conn:
        assert conn.scalar(text("SELECT count(*) FROM weak_supervision_count")) == 0
    command.downgrade(alembic_config(url), "0023")
    engine.dispose()
    with engine.begin() as conn:
        assert conn.scalar(text("SELECT to_regclass('weak_supervision_count')")) is None
        old.label(conn, ids[0], a, "WEAK_SUPERVISION", 0.4)  # writes work without the counts
        assert conn.scalar(text("SELECT count(*) FROM weak_supervision_label")) == 1
    upgrade(url, "0024")
    with engine.begin() as conn:
        assert counted(conn) == from_rows(conn)
        assert counted(conn)["labels"] == [(conn.scalar(text("SELECT version_id FROM weak_supervision_current")), a, 1, 1)]


def test_many_small_writes_are_folded(scratch_database: tuple[str, Engine]) -> None:
    """A version's delta rows are folded into one per key once there are more than the migration's threshold."""
    from shared_model.migrate import upgrade

    url, engine = scratch_database
    upgrade(url, "0024")
    with engine.begin() as conn:
        old = old_project(conn, "topic", "MULTICLASS_CLASSIFICATION")
        more = "INSERT INTO record (project_id, data) SELECT :p, '{}' FROM generate_series(1, 1200)"
        conn.execute(text(more), {"p": old.project_id})
        records = list(conn.scalars(text("SELECT id FROM record WHERE project_id = :p ORDER BY id"), {"p": old.project_id}))
    for i, record in enumerate(records):  # one statement each: a label and a confidence delta row each
        with engine.begin() as conn:
            old.label(conn, record, old.a if i % 2 else old.b, "WEAK_SUPERVISION", (i % 97) / 97)
    with engine.begin() as conn:
        assert counted(conn) == from_rows(conn)
        assert conn.scalar(text("SELECT count(*) FROM weak_supervision_count")) < 1500
        assert sum(r[2] for r in counted(conn)["keys"]) == len(records)
