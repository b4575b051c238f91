"""The names of the per-project attribute indexes (``ix_ra_<project>_<hash of the expression>``) and which of them
exist: what the compiler needs to know about them without importing their builder (:mod:`.attribute_indexes`, which
imports the compiler for the expressions)."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from sqlalchemy import ColumnElement, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

PREFIX = "ix_ra_"


def sql_of(expression: ColumnElement[Any]) -> str:
    return str(expression.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))


def index_name(project_id: uuid.UUID, expression_sql: str) -> str:
    return f"{PREFIX}{project_id.hex}_{hashlib.sha256(expression_sql.encode()).hexdigest()[:12]}"


def existing(session: Session, project_id: uuid.UUID) -> set[str]:
    """Valid attribute indexes of the project."""
    rows = session.execute(
        text(
            "SELECT c.relname FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid"
            " WHERE c.relname LIKE :prefix AND i.indisvalid"
        ),
        {"prefix": f"{PREFIX}{project_id.hex}\\_%"},
    )
    return {str(row[0]) for row in rows}
