"""Flag updates of manual labels (``is_valid_manual_label`` after a bulk label or a resolution-rule change): the
reference check of migration 0019 (changed rows by EXCEPT) against 0004's (a join of the transition tables), on the
same database in one run: upgrade to head, time, downgrade the one migration, time again.

    .venv/bin/python benchmarks/label_flag_updates.py [--rows 2000 8000 16000]

The last line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from common import throwaway_database
from sqlalchemy import create_engine, text

REVISION = "0019"


def seed(url: str, records: int) -> tuple[str, str, str]:
    engine = create_engine(url)
    with engine.begin() as conn:
        project = conn.execute(
            text(
                "INSERT INTO project (name, description, tokenizer, status, created_at, settings)"
                " VALUES ('flags', '', 'en', 'READY', now(), '{}') RETURNING id"
            )
        ).scalar_one()
        task = conn.execute(
            text(
                "INSERT INTO labeling_task (id, project_id, name, task_target, task_type) VALUES"
                " (gen_random_uuid(), :p, 't', 'ON_WHOLE_RECORD', 'MULTICLASS_CLASSIFICATION') RETURNING id"
            ),
            {"p": project},
        ).scalar_one()
        label = conn.execute(
            text(
                "INSERT INTO label (id, project_id, labeling_task_id, name, color)"
                " VALUES (gen_random_uuid(), :p, :t, 'a', '#000') RETURNING id"
            ),
            {"p": project, "t": task},
        ).scalar_one()
        conn.execute(
            text("INSERT INTO record (project_id, data) SELECT :p, '{}' FROM generate_series(1, :n)"),
            {"p": project, "n": records},
        )
    engine.dispose()
    return str(project), str(task), str(label)


def flag_update_s(url: str, ids: tuple[str, str, str], rows: int) -> float:
    """Seconds of one UPDATE that sets the flag on ``rows`` manual labels (the check runs in it)."""
    project, task, label = ids
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM record_label_association"))
        conn.execute(
            text(
                "INSERT INTO record_label_association (id, project_id, record_id, labeling_task_id, label_id,"
                " source_type, return_type, confidence, is_gold_star, is_valid_manual_label, created_at)"
                " SELECT gen_random_uuid(), :p, r.id, :t, :l, 'MANUAL', 'RETURN', 1, false, false, now()"
                " FROM (SELECT id FROM record ORDER BY id LIMIT :n) r"
            ),
            {"p": project, "t": task, "l": label, "n": rows},
        )
    with engine.begin() as conn:
        start = time.perf_counter()
        conn.execute(text("UPDATE record_label_association SET is_valid_manual_label = true"))
        elapsed = time.perf_counter() - start
    engine.dispose()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[2000, 8000, 16000])
    args = parser.parse_args()
    from alembic import command

    from shared_model.migrate import alembic_config, upgrade

    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp, throwaway_database(Path(tmp)) as url:
        ids = seed(url, max(args.rows))
        for rows in args.rows:
            figures[f"flag_update_{rows}_rows_s"] = round(flag_update_s(url, ids, rows), 3)
        command.downgrade(alembic_config(url), f"{REVISION}-1")
        for rows in args.rows:
            figures[f"flag_update_{rows}_rows_before_s"] = round(flag_update_s(url, ids, rows), 3)
        upgrade(url)
        largest = max(args.rows)
        figures["speedup_at_largest"] = round(
            figures[f"flag_update_{largest}_rows_before_s"] / max(figures[f"flag_update_{largest}_rows_s"], 1e-6), 1
        )
        for key, value in figures.items():
            print(f"{key}: {value}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
