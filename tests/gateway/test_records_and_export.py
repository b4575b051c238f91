"""Records list (keyset pagination) and the streamed export: columns, label sources and formats."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text

from shared_model.db import get_engine

from .upload_helpers import all_records, export, upload_ok


def test_keyset_pagination(client: TestClient, project: dict[str, Any]) -> None:
    upload_ok(client, project["id"], "n.csv", ("n\n" + "".join(f"{i}\n" for i in range(25))).encode())
    url = f"/api/v1/projects/{project['id']}/records"
    first = client.get(url, params={"limit": 10}).json()
    assert [r["data"]["n"] for r in first["items"]] == list(range(10))
    second = client.get(url, params={"limit": 10, "after": first["next_after"]}).json()
    assert [r["data"]["n"] for r in second["items"]] == list(range(10, 20))
    last = client.get(url, params={"limit": 10, "after": second["next_after"]}).json()
    assert [r["data"]["n"] for r in last["items"]] == list(range(20, 25)) and last["next_after"] is None
    assert client.get(url, params={"after": 10**12}).json() == {"items": [], "next_after": None}
    assert client.get(url, params={"limit": 0}).status_code == 422
    assert client.get(f"/api/v1/projects/{uuid.uuid4()}/records").status_code == 404
    assert len(all_records(client, project["id"], limit=3)) == 25


def test_export_label_sources(client: TestClient, project: dict[str, Any]) -> None:
    upload_ok(client, project["id"], "h.csv", b"id,headline,headline__sentiment\n1,good news,POS\n2,bad news,NEG\n3,no label,\n")
    with get_engine().begin() as conn:
        task = conn.execute(text("SELECT id FROM labeling_task WHERE project_id = :p"), {"p": project["id"]}).scalar_one()
        labels = dict(conn.execute(text("SELECT name, id FROM label WHERE labeling_task_id = :t"), {"t": task}).all())
        records = dict(
            conn.execute(text("SELECT (data->>'id')::int, id FROM record WHERE project_id = :p"), {"p": project["id"]}).all()
        )
        insert = text(
            "INSERT INTO record_label_association (project_id, record_id, labeling_task_id, label_id, source_type, return_type,"
            " confidence, is_gold_star, is_valid_manual_label) VALUES (:p, :r, :t, :l, :s, 'RETURN', :c, false, :v)"
        )
        # weak supervision on record 1 and 3; an invalid manual label on record 3 must not be exported
        conn.execute(
            insert,
            {"p": project["id"], "r": records[1], "t": task, "l": labels["NEG"], "s": "WEAK_SUPERVISION", "c": 0.62, "v": False},
        )
        conn.execute(
            insert,
            {"p": project["id"], "r": records[3], "t": task, "l": labels["POS"], "s": "WEAK_SUPERVISION", "c": 0.9, "v": False},
        )
        conn.execute(
            insert, {"p": project["id"], "r": records[3], "t": task, "l": labels["NEG"], "s": "MANUAL", "c": None, "v": False}
        )
    rows = export(client, project["id"], "json")
    assert rows == [
        {
            "id": 1,
            "headline": "good news",
            "headline__sentiment__MANUAL": "POS",
            "headline__sentiment__WEAK_SUPERVISION": "NEG",
            "headline__sentiment__WEAK_SUPERVISION__confidence": 0.62,
            "headline__sentiment__MANUAL__decided_by": "SINGLE_ANNOTATOR",
        },
        {
            "id": 2,
            "headline": "bad news",
            "headline__sentiment__MANUAL": "NEG",
            "headline__sentiment__WEAK_SUPERVISION": None,
            "headline__sentiment__WEAK_SUPERVISION__confidence": None,
            "headline__sentiment__MANUAL__decided_by": "SINGLE_ANNOTATOR",
        },
        {
            "id": 3,
            "headline": "no label",
            "headline__sentiment__MANUAL": None,
            "headline__sentiment__WEAK_SUPERVISION": "POS",
            "headline__sentiment__WEAK_SUPERVISION__confidence": 0.9,
            "headline__sentiment__MANUAL__decided_by": "UNDECIDED",  # a manual label, but none valid
        },
    ]
    assert export(client, project["id"], "jsonl") == rows
    csv_rows = export(client, project["id"], "csv")
    assert csv_rows[0] == {
        "id": "1",
        "headline": "good news",
        "headline__sentiment__MANUAL": "POS",
        "headline__sentiment__WEAK_SUPERVISION": "NEG",
        "headline__sentiment__WEAK_SUPERVISION__confidence": "0.62",
        "headline__sentiment__MANUAL__decided_by": "SINGLE_ANNOTATOR",
    }
    assert csv_rows[2]["headline__sentiment__MANUAL"] == ""


def test_export_headers_and_empty_project(client: TestClient, project: dict[str, Any]) -> None:
    response = client.get(f"/api/v1/projects/{project['id']}/export", params={"format": "csv"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert 'filename="test_project.csv"' in response.headers["content-disposition"]
    assert export(client, project["id"], "json") == []
    assert client.get(f"/api/v1/projects/{project['id']}/export", params={"format": "xml"}).status_code == 422


def test_export_types_round_trip_through_csv(client: TestClient, project: dict[str, Any]) -> None:
    content = b'id,score,flag,note\n1,0.5,True,"multi\nline, with comma"\n2,-1e-3,False,\n'
    upload_ok(client, project["id"], "t.csv", content)
    rows = export(client, project["id"], "json")
    assert rows == [
        {"id": 1, "score": 0.5, "flag": True, "note": "multi\nline, with comma"},
        {"id": 2, "score": -0.001, "flag": False, "note": None},
    ]
    other = client.post("/api/v1/projects", json={"name": "copy"}).json()
    exported_csv = client.get(f"/api/v1/projects/{project['id']}/export", params={"format": "csv"}).content
    upload_ok(client, other["id"], "copy.csv", exported_csv)
    assert export(client, other["id"], "json") == rows
