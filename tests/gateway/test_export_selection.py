"""POST /export: the data browser's export dialog — a filter's records, chosen attributes, tasks and label sources."""

from __future__ import annotations

import csv
import io
import json
import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text

from shared_model.db import get_engine

from .upload_helpers import upload_ok

CSV = b"id,headline,topic,headline__sentiment\n1,good news,tech,POS\n2,bad news,tech,NEG\n3,no label,sport,\n"


def _seed(client: TestClient, pid: str) -> tuple[str, str]:
    upload_ok(client, pid, "h.csv", CSV)
    with get_engine().begin() as conn:
        task = conn.execute(text("SELECT id FROM labeling_task WHERE project_id = :p"), {"p": pid}).scalar_one()
        label = conn.execute(text("SELECT id FROM label WHERE labeling_task_id = :t AND name = 'NEG'"), {"t": task}).scalar_one()
        record = conn.execute(text("SELECT id FROM record WHERE project_id = :p AND data->>'id' = '3'"), {"p": pid}).scalar_one()
        conn.execute(
            text(
                "INSERT INTO record_label_association (project_id, record_id, labeling_task_id, label_id, source_type,"
                " return_type, confidence, is_gold_star, is_valid_manual_label)"
                " VALUES (:p, :r, :t, :l, 'WEAK_SUPERVISION', 'RETURN', 0.7, false, false)"
            ),
            {"p": pid, "r": record, "t": task, "l": label},
        )
    return str(task), str(label)


def _post(client: TestClient, pid: str, body: dict[str, Any]) -> Any:
    response = client.post(f"/api/v1/projects/{pid}/export", json=body)
    assert response.status_code == 200, response.text
    return response


def test_export_of_a_filter_with_chosen_columns(client: TestClient, project: dict[str, Any]) -> None:
    pid = project["id"]
    task, _ = _seed(client, pid)
    tech = {"kind": "group", "conditions": [{"kind": "attribute", "attribute": "topic", "operator": "EQUAL", "values": ["tech"]}]}
    rows = json.loads(_post(client, pid, {"format": "json", "filter": tech}).content)
    assert [row["id"] for row in rows] == [1, 2]
    assert rows[0]["headline__sentiment__MANUAL"] == "POS"
    # the same rows as the full export's, for the records the filter selects
    full = client.get(f"/api/v1/projects/{pid}/export", params={"format": "json"}).json()
    assert rows == [row for row in full if row["topic"] == "tech"]

    narrow = {"format": "jsonl", "attributes": ["headline"], "sources": ["WEAK_SUPERVISION"]}
    lines = [json.loads(line) for line in _post(client, pid, narrow).text.splitlines()]
    assert lines[2] == {
        "headline": "no label",
        "headline__sentiment__WEAK_SUPERVISION": "NEG",
        "headline__sentiment__WEAK_SUPERVISION__confidence": 0.7,
    }
    no_tasks = _post(client, pid, {"format": "csv", "task_ids": [], "filter": {"kind": "group", "join": "AND", "conditions": []}})
    table = list(csv.DictReader(io.StringIO(no_tasks.text)))
    assert list(table[0]) == ["id", "headline", "topic"] and len(table) == 3
    manual_only = json.loads(_post(client, pid, {"task_ids": [task], "sources": ["MANUAL"], "attributes": []}).content)
    # the decided label's rule travels with the MANUAL source (docs/teams.md)
    assert manual_only[1] == {"headline__sentiment__MANUAL": "NEG", "headline__sentiment__MANUAL__decided_by": "SINGLE_ANNOTATOR"}


def test_export_selection_refuses_unknown_names(client: TestClient, project: dict[str, Any]) -> None:
    pid = project["id"]
    _seed(client, pid)
    url = f"/api/v1/projects/{pid}/export"
    bad_attribute = client.post(url, json={"attributes": ["nope"]})
    assert bad_attribute.status_code == 422 and "'nope'" in bad_attribute.json()["detail"]
    bad_task = client.post(url, json={"task_ids": [str(uuid.uuid4())]})
    assert bad_task.status_code == 422 and "task_ids" in bad_task.json()["detail"]
    bad_filter = client.post(
        url,
        json={
            "filter": {
                "kind": "group",
                "conditions": [{"kind": "attribute", "attribute": "x", "operator": "EQUAL", "values": ["a"]}],
            }
        },
    )
    assert bad_filter.status_code == 422
    assert client.post(url, json={"format": "pdf"}).status_code == 422
