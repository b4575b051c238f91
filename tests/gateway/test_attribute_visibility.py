"""Any attribute's visibility can be changed (uploaded ones too); another project's attribute is a 404."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from .upload_helpers import upload_ok


def test_visibility_of_an_uploaded_attribute(client: TestClient, project: dict[str, Any]) -> None:
    pid = project["id"]
    upload_ok(client, pid, "rows.jsonl", b'{"text": "a", "source": "x"}\n{"text": "b", "source": "y"}\n')
    attributes = {a["name"]: a for a in client.get(f"/api/v1/projects/{pid}/attributes").json()}
    source = attributes["source"]
    assert source["visibility"] == "DO_NOT_HIDE"
    url = f"/api/v1/projects/{pid}/attributes/{source['id']}/visibility"
    changed = client.put(url, json={"visibility": "HIDE_ON_LABELING_PAGE"})
    assert changed.status_code == 200 and changed.json()["visibility"] == "HIDE_ON_LABELING_PAGE"
    after = {a["name"]: a["visibility"] for a in client.get(f"/api/v1/projects/{pid}/attributes").json()}
    assert after["text"] == "DO_NOT_HIDE" and after["source"] == "HIDE_ON_LABELING_PAGE"
    assert client.put(url, json={"visibility": "SOMETIMES"}).status_code == 422

    other = client.post("/api/v1/projects", json={"name": "other"}).json()
    missing = client.put(f"/api/v1/projects/{other['id']}/attributes/{source['id']}/visibility", json={"visibility": "HIDE"})
    assert missing.status_code == 404
    assert {a["name"]: a["visibility"] for a in client.get(f"/api/v1/projects/{pid}/attributes").json()}["source"] == (
        "HIDE_ON_LABELING_PAGE"
    )
