"""Project cards' numbers: creator, records, manually labeled and weakly supervised records (list and detail)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from fastapi.testclient import TestClient

from .upload_helpers import upload_ok


def _rows() -> bytes:
    rows = [{"id": i, "text": f"text {i}", "__sentiment": ("pos" if i % 2 else "neg") if i <= 3 else None} for i in range(1, 6)]
    return "\n".join(json.dumps(r) for r in rows).encode()


def test_cards_count_labeled_records_per_source(client: TestClient, project: dict[str, Any]) -> None:
    from shared_model.db import session_scope
    from shared_model.models import RecordLabelAssociation, SourceType

    pid = project["id"]
    upload_ok(client, pid, "rows.jsonl", _rows())
    task = client.get(f"/api/v1/projects/{pid}/labeling-tasks").json()[0]
    records = client.get(f"/api/v1/projects/{pid}/records").json()["items"]
    with session_scope() as session:
        for record in records[:2]:
            session.add(
                RecordLabelAssociation(
                    project_id=uuid.UUID(pid),
                    record_id=record["id"],
                    labeling_task_id=uuid.UUID(task["id"]),
                    label_id=uuid.UUID(task["labels"][0]["id"]),
                    source_type=SourceType.WEAK_SUPERVISION,
                    confidence=0.9,
                )
            )

    listed = next(p for p in client.get("/api/v1/projects").json() if p["id"] == pid)
    single = client.get(f"/api/v1/projects/{pid}").json()
    for card in (listed, single):
        assert card["record_count"] == 5
        assert card["manually_labeled"] == 3
        assert card["weakly_supervised"] == 2
        assert card["created_by_name"]


def test_a_new_project_has_zero_labeled(client: TestClient, project: dict[str, Any]) -> None:
    card = client.get(f"/api/v1/projects/{project['id']}").json()
    assert (card["record_count"], card["manually_labeled"], card["weakly_supervised"]) == (0, 0, 0)
    me = client.get("/api/v1/auth/me").json()
    assert card["created_by_name"] in (me["display_name"], me["email"])
