"""Apply the Alembic migrations shipped inside this package: ``python -m shared_model.migrate``."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from .db import database_url

PACKAGE_DIR = Path(__file__).resolve().parent


def alembic_config(url: str | None = None) -> Config:
    """An Alembic config pointing at the package's migrations and the given (or configured) database."""
    config = Config(str(PACKAGE_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(PACKAGE_DIR / "migrations"))
    config.set_main_option("sqlalchemy.url", (url or database_url()).replace("%", "%%"))
    return config


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Migrate the database to ``revision`` (default: the newest)."""
    command.upgrade(alembic_config(url), revision)


if __name__ == "__main__":
    upgrade()
    print("database migrated to head")  # noqa: T201
