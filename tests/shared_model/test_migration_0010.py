"""Migration 0010 (data browser) on a database of its own: upgrade, downgrade to 0005, upgrade again."""

from __future__ import annotations

from sqlalchemy import inspect
from sqlalchemy.engine import Engine


def test_0010_round_trip(scratch_database: tuple[str, Engine]) -> None:
    from alembic import command

    from shared_model.migrate import alembic_config, upgrade

    url, engine = scratch_database
    upgrade(url, "0010")
    tables = set(inspect(engine).get_table_names())
    assert {"labeling_session", "heuristic_vote_summary", "heuristic_vote_summary_state"} <= tables
    assert "updated_at" in {c["name"] for c in inspect(engine).get_columns("data_slice")}
    command.downgrade(alembic_config(url), "0005")
    engine.dispose()
    tables = set(inspect(engine).get_table_names())
    assert not {"labeling_session", "heuristic_vote_summary", "heuristic_vote_summary_state"} & tables
    assert "updated_at" not in {c["name"] for c in inspect(engine).get_columns("data_slice")}
    upgrade(url, "0010")
    engine.dispose()
    assert "labeling_session" in set(inspect(engine).get_table_names())
