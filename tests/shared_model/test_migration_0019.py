"""Migration 0019: the UPDATE reference check finds changed rows by a set difference; it still refuses a changed
reference that is wrong (tests/shared_model/test_label_references.py covers every case at head), and its downgrade
restores 0004's join."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Engine


def _body(engine: Engine) -> str:
    with engine.connect() as conn:
        return str(conn.scalar(text("SELECT prosrc FROM pg_proc WHERE proname = 'rla_check_update_references'")))


def test_0019_round_trip(scratch_database: tuple[str, Engine]) -> None:
    from alembic import command

    from shared_model.migrate import alembic_config, upgrade

    url, engine = scratch_database
    upgrade(url, "0019")
    assert "EXCEPT SELECT" in _body(engine) and "JOIN old_rows" not in _body(engine)
    command.downgrade(alembic_config(url), "0019-1")
    engine.dispose()
    assert "JOIN old_rows" in _body(engine) and "EXCEPT SELECT" not in _body(engine)
    upgrade(url, "0019")
    engine.dispose()
    assert "EXCEPT SELECT" in _body(engine)
