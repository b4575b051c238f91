"""A labeling session's window of records with their data, in session order (what the labeling suite shows)."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient

from .upload_helpers import all_records, upload_ok


def test_window_holds_the_records_in_session_order(client: TestClient, project: dict[str, Any]) -> None:
    pid = project["id"]
    rows = [{"n": i, "text": f"record {i}"} for i in range(6)]
    upload_ok(client, pid, "rows.jsonl", "\n".join(json.dumps(r) for r in rows).encode())
    ids = [r["id"] for r in all_records(client, pid)]
    chosen = [ids[4], ids[1], ids[5], ids[0]]
    created = client.post(f"/api/v1/projects/{pid}/labeling-sessions", json={"record_ids": chosen, "position": 1})
    assert created.status_code == 201, created.text
    sid = created.json()["id"]

    window = client.get(f"/api/v1/projects/{pid}/labeling-sessions/{sid}/window", params={"offset": 1, "limit": 2}).json()
    assert window["total"] == 4 and window["offset"] == 1 and window["record_ids"] == chosen[1:3]
    assert [(r["id"], r["data"]) for r in window["records"]] == [
        (ids[1], {"n": 1, "text": "record 1"}),
        (ids[5], {"n": 5, "text": "record 5"}),
    ]
    assert client.get(f"/api/v1/projects/{pid}/labeling-sessions/{sid}/window", params={"offset": 9}).json()["records"] == []
    other = client.get(f"/api/v1/projects/{pid}/labeling-sessions/00000000-0000-0000-0000-000000000000/window")
    assert other.status_code == 404
    assert client.get(f"/api/v1/projects/{pid}/labeling-sessions/{sid}/window", params={"limit": 1001}).status_code == 422
