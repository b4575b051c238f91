"""The UPDATE check of record_label_association's references in linear time (it was quadratic)

Migration 0004 checks, after an UPDATE statement, only the rows whose references changed: it found them by joining the
statement's new and old rows (transition tables) on ``id``. Transition tables have no statistics, the planner chose a
nested loop, and flag updates (``is_valid_manual_label`` after a bulk label, a resolution-rule change) took
0.3 s / 9.5 s / 67 s for 2,000 / 8,000 / 16,000 rows. The changed rows are now the new rows' (id, references) EXCEPT
the old rows' — one hashed set operation — and the function body is otherwise 0004's.

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

REFERENCES = "id, project_id, record_id, labeling_task_id, label_id, source_id"
CHANGED_ROWS = f"(SELECT {REFERENCES} FROM new_rows EXCEPT SELECT {REFERENCES} FROM old_rows)"


def _migration_0004() -> ModuleType:
    """0004's module: its check function's text is the one definition (only the changed-rows expression differs)."""
    path = Path(__file__).with_name("0004_rla_set_based_references.py")
    spec = importlib.util.spec_from_file_location("refinery_migration_0004", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _replace_update_check(rows: str) -> None:
    m0004 = _migration_0004()
    sql = m0004.CHECK_FUNCTION.format(event="update", rows=rows, path=m0004._search_path())
    op.execute(sql.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1))


def upgrade() -> None:
    _replace_update_check(CHANGED_ROWS)


def downgrade() -> None:
    _replace_update_check(_migration_0004().CHECKED_ROWS["update"])
