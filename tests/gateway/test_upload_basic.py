"""Upload of each format: types inferred as the original does, primary key or running_id, label columns, append."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient

from .upload_helpers import all_records, counts, export, post_file, upload_ok


def attributes(client: TestClient, project_id: str) -> dict[str, dict[str, Any]]:
    return {a["name"]: a for a in client.get(f"/api/v1/projects/{project_id}/attributes").json()}


def test_csv_types_and_primary_key(client: TestClient, project: dict[str, Any]) -> None:
    rows = ["id,text,cat,score,flag,big"]
    for i in range(20):
        rows.append(
            f'{i},"long text number {i}, with a comma and more words to pass fifty characters",'
            f"{'ab'[i % 2]},{i / 4},{'True' if i % 3 else 'false'},{2**31 + i}"
        )
    job = upload_ok(client, project["id"], "data.csv", ("\n".join(rows) + "\n\n").encode())
    assert job["result"]["records"] == 20
    attrs = attributes(client, project["id"])
    assert {n: a["data_type"] for n, a in attrs.items()} == {
        "id": "INTEGER",
        "text": "TEXT",
        "cat": "CATEGORY",
        "score": "FLOAT",
        "flag": "BOOLEAN",
        "big": "TEXT",
    }
    assert [n for n, a in attrs.items() if a["is_primary_key"]] == ["id"]
    records = all_records(client, project["id"], limit=7)
    assert len(records) == 20
    assert records[3]["data"] == {
        "id": 3,
        "text": "long text number 3, with a comma and more words to pass fifty characters",
        "cat": "b",
        "score": 0.75,
        "flag": False,
        "big": str(2**31 + 3),
    }
    assert list(records[3]["data"]) == ["id", "text", "cat", "score", "flag", "big"]


def test_running_id_and_label_columns(client: TestClient, project: dict[str, Any]) -> None:
    data = [
        {"headline": f"headline {i}", "headline__sentiment": ["pos", "neg", None, ""][i % 4], "__topic": "sports"}
        for i in range(8)
    ]
    job = upload_ok(client, project["id"], "h.json", json.dumps(data).encode())
    attrs = attributes(client, project["id"])
    assert list(attrs) == ["running_id", "headline"]
    assert attrs["running_id"]["is_primary_key"] and attrs["running_id"]["state"] == "AUTOMATICALLY_CREATED"
    assert job["result"]["manual_labels"] == {"sentiment": 4, "topic": 8}
    exported = export(client, project["id"])
    assert exported[0] == {
        "running_id": 0,
        "headline": "headline 0",
        "headline__sentiment__MANUAL": "pos",
        "headline__sentiment__WEAK_SUPERVISION": None,
        "headline__sentiment__WEAK_SUPERVISION__confidence": None,
        "headline__sentiment__MANUAL__decided_by": "SINGLE_ANNOTATOR",
        "__topic__MANUAL": "sports",
        "__topic__WEAK_SUPERVISION": None,
        "__topic__WEAK_SUPERVISION__confidence": None,
        "__topic__MANUAL__decided_by": "SINGLE_ANNOTATOR",
    }
    assert [r["headline__sentiment__MANUAL"] for r in exported] == ["pos", "neg", None, None] * 2
    # appending continues the running id and reuses the tasks
    upload_ok(client, project["id"], "more.jsonl", b'{"headline": "x", "headline__sentiment": "neu"}\n')
    exported = export(client, project["id"], "jsonl")
    assert exported[-1]["running_id"] == 8 and exported[-1]["headline__sentiment__MANUAL"] == "neu"
    assert counts(project["id"])["labeling_task"] == 2


def test_append_schema_mismatch_lists_differences(client: TestClient, project: dict[str, Any]) -> None:
    upload_ok(client, project["id"], "a.csv", b"id,name\n1,a\n2,b\n")
    response = post_file(client, project["id"], "b.csv", b"id,title\n3,c\n")
    assert response.status_code == 409
    detail = response.json()["detail"]
    assert "b.csv" in detail and "'name'" in detail and "'title'" in detail
    # same columns, incompatible type: found by the job, nothing written
    response = post_file(client, project["id"], "c.csv", b"id,name\nthree,c\n")
    assert response.status_code == 202
    from .upload_helpers import wait_job

    job = wait_job(client, response.json()["id"])
    assert job["state"] == "failed" and "'id'" in job["error"] and "INTEGER" in job["error"]
    assert counts(project["id"])["record"] == 2
