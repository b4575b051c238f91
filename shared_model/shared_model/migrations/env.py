"""Alembic environment: migrates the database named in the config (set by ``shared_model.migrate``)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import engine_from_config, pool

from shared_model.models import Base

config = context.config
target_metadata = Base.metadata


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Autogenerate leaves alone the per-project attribute indexes the gateway creates (``ix_ra_*``)."""
    return not (type_ == "index" and name is not None and name.startswith("ix_ra_"))


def run_migrations_online() -> None:
    connectable = engine_from_config(
        config.get_section(config.config_ini_section, {}), prefix="sqlalchemy.", poolclass=pool.NullPool
    )
    with connectable.connect() as connection:
        # Serialise concurrent migrations (several services may start at once).
        connection.exec_driver_sql("SELECT pg_advisory_lock(724113)")
        context.configure(connection=connection, target_metadata=target_metadata, compare_type=True, include_name=include_name)
        with context.begin_transaction():
            context.run_migrations()
        connection.exec_driver_sql("SELECT pg_advisory_unlock(724113)")
        connection.commit()


run_migrations_online()
