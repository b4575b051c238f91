"""Migration 0013 (roles) on a database of its own: a project's creator becomes its OWNER, other members keep their
role; read-only tokens and one-time passwords get their columns; downgrade and upgrade again."""

from __future__ import annotations

from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine


def test_0013_makes_creators_owners(scratch_database: tuple[str, Engine]) -> None:
    from alembic import command

    from shared_model.migrate import alembic_config, upgrade

    url, engine = scratch_database
    upgrade(url, "0012")
    with engine.begin() as conn:
        users = {}
        for name in ("creator", "helper"):
            users[name] = conn.execute(
                text(
                    "INSERT INTO app_user (email, display_name, password_hash, role, is_active)"
                    " VALUES (:e, '', 'x', 'ENGINEER', true) RETURNING id"
                ),
                {"e": f"{name}@example.org"},
            ).scalar_one()
        project = conn.execute(
            text(
                "INSERT INTO project (name, description, tokenizer, status, created_by)"
                " VALUES ('p', '', 'en', 'READY', :u) RETURNING id"
            ),
            {"u": users["creator"]},
        ).scalar_one()
        for name, role in (("creator", "ENGINEER"), ("helper", "ANNOTATOR")):
            conn.execute(
                text("INSERT INTO project_member (project_id, user_id, role) VALUES (:p, :u, :r)"),
                {"p": project, "u": users[name], "r": role},
            )
    upgrade(url, "0013")
    engine.dispose()

    def roles() -> dict[str, str]:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT u.email, m.role FROM project_member m JOIN app_user u ON u.id = m.user_id"))
            return {email.split("@")[0]: role for email, role in rows}

    assert roles() == {"creator": "OWNER", "helper": "ANNOTATOR"}
    assert "read_only" in {c["name"] for c in inspect(engine).get_columns("api_token")}
    assert {"password_change_required", "invitation_hash"} <= {c["name"] for c in inspect(engine).get_columns("app_user")}
    command.downgrade(alembic_config(url), "0012")
    engine.dispose()
    assert roles() == {"creator": "ENGINEER", "helper": "ANNOTATOR"}
    assert "read_only" not in {c["name"] for c in inspect(engine).get_columns("api_token")}
    upgrade(url, "0013")
    engine.dispose()
    assert roles() == {"creator": "OWNER", "helper": "ANNOTATOR"}
