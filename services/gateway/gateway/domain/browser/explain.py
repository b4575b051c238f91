"""The planner's row estimate of a query: ``EXPLAIN (FORMAT JSON)`` as a SQLAlchemy statement, and its rows."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ClauseElement, Executable


class Explain(Executable, ClauseElement):
    """``EXPLAIN (FORMAT JSON)`` of a statement, its parameters bound as usual (SQLAlchemy's recipe)."""

    inherit_cache = False

    def __init__(self, statement: Select[Any]) -> None:
        self.statement = statement


@compiles(Explain, "postgresql")
def _explain(element: Explain, compiler: Any, **kw: Any) -> str:
    return "EXPLAIN (FORMAT JSON) " + str(compiler.process(element.statement, **kw))


def plan_rows(plan: Any) -> int:
    """The rows an ``EXPLAIN (FORMAT JSON)`` of a count or a select expects (below its aggregates)."""
    body = plan if isinstance(plan, list) else json.loads(str(plan))
    inner = body[0]["Plan"]
    while inner.get("Plans") and inner.get("Node Type") in ("Aggregate", "Gather", "Finalize Aggregate", "Partial Aggregate"):
        inner = inner["Plans"][0]
    return int(inner.get("Plan Rows", 0))
