"""Rows written as the schema before a migration had them (raw SQL, no models): a project with three records and one
labeling task with labels ``a`` and ``b``, and label rows of any source — what the migration tests upgrade from."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy import Connection, text


@dataclass
class OldProject:
    project_id: uuid.UUID = field(default_factory=uuid.uuid4)
    task_id: uuid.UUID = field(default_factory=uuid.uuid4)
    a: uuid.UUID = field(default_factory=uuid.uuid4)
    b: uuid.UUID = field(default_factory=uuid.uuid4)
    record_ids: list[int] = field(default_factory=list)

    def label(self, conn: Connection, record: int, label_id: uuid.UUID, source: str, confidence: float | None = None) -> None:
        conn.execute(
            text(
                "INSERT INTO record_label_association (id, project_id, record_id, labeling_task_id, label_id,"
                " source_type, return_type, confidence, is_gold_star, is_valid_manual_label, created_at)"
                " VALUES (gen_random_uuid(), :p, :r, :t, :l, :s, 'RETURN', :c, false, :v, now())"
            ),
            {
                "p": self.project_id,
                "r": record,
                "t": self.task_id,
                "l": label_id,
                "s": source,
                "c": confidence,
                "v": source == "MANUAL",
            },
        )


def old_project(conn: Connection, task_name: str, task_type: str) -> OldProject:
    made = OldProject()
    conn.execute(
        text(
            "INSERT INTO project (id, name, description, tokenizer, status, created_at)"
            " VALUES (:p, 'old', '', 'en', 'READY', now())"
        ),
        {"p": made.project_id},
    )
    made.record_ids = list(
        conn.scalars(
            text("INSERT INTO record (project_id, data) SELECT :p, '{}'::jsonb FROM generate_series(1, 3) RETURNING id"),
            {"p": made.project_id},
        )
    )
    conn.execute(
        text(
            "INSERT INTO labeling_task (id, project_id, name, task_target, task_type, created_at)"
            " VALUES (:t, :p, :n, 'ON_WHOLE_RECORD', :k, now())"
        ),
        {"t": made.task_id, "p": made.project_id, "n": task_name, "k": task_type},
    )
    for label, name in ((made.a, "a"), (made.b, "b")):
        conn.execute(
            text(
                "INSERT INTO label (id, project_id, labeling_task_id, name, color, created_at)"
                " VALUES (:l, :p, :t, :n, '#000000', now())"
            ),
            {"l": label, "p": made.project_id, "t": made.task_id, "n": name},
        )
    return made
