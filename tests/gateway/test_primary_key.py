"""The primary key: an upload explains what it inferred (which attribute and why, or why none); a route sets or
clears an attribute as part of the key, refusing a key that misses a record or names one twice."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from .upload_helpers import upload_ok


def attributes(client: TestClient, pid: str) -> dict[str, dict[str, Any]]:
    return {a["name"]: a for a in client.get(f"/api/v1/projects/{pid}/attributes").json()}


def set_key(client: TestClient, pid: str, attribute: dict[str, Any], value: bool) -> Any:
    return client.put(f"/api/v1/projects/{pid}/attributes/{attribute['id']}/primary-key", json={"is_primary_key": value})


def test_inference_is_explained(client: TestClient) -> None:
    def upload(content: str) -> dict[str, Any]:
        pid = client.post("/api/v1/projects", json={"name": "pk"}).json()["id"]
        result: dict[str, Any] = upload_ok(client, pid, "data.csv", content.encode())["result"]
        return result

    result = upload("n,id,text\n1,10,a\n1,11,b\n2,12,c\n")
    assert result["primary_key"] == ["id"]
    reason = result["primary_key_reason"]
    assert reason.startswith("'id': the first INTEGER column with a value in every row and no value twice"), reason
    assert "'n' has the value 1 in rows 1 and 2" in reason, reason

    result = upload("text,label\na,x\nb,y\n")
    assert result["primary_key"] == ["running_id"] and "no INTEGER column" in result["primary_key_reason"]

    result = upload("n,text\n1,a\n,b\n")
    assert result["primary_key"] == []
    assert result["primary_key_reason"].startswith("none:") and "'n' has no value in row 2" in result["primary_key_reason"]
    assert "/primary-key" in result["primary_key_reason"]


def test_set_and_clear_checks_uniqueness(client: TestClient, project: dict[str, Any]) -> None:
    pid = project["id"]
    upload_ok(client, pid, "data.csv", b"id,group,code,text\n1,1,a,x\n2,1,b,y\n3,2,a,z\n4,2,,w\n")
    found = attributes(client, pid)
    assert found["id"]["is_primary_key"]

    response = set_key(client, pid, found["group"], True)  # (id, group) is unique: fine
    assert response.status_code == 200, response.text
    assert {a["name"] for a in response.json() if a["is_primary_key"]} == {"id", "group"}

    response = set_key(client, pid, found["id"], False)  # (group) alone names records twice: refused
    assert response.status_code == 409, response.text
    detail = response.json()["detail"]
    assert "group=1 in records" in detail and "group=2 in records" in detail, detail
    assert attributes(client, pid)["id"]["is_primary_key"]  # nothing changed

    assert set_key(client, pid, found["group"], False).status_code == 200
    response = set_key(client, pid, found["code"], True)  # (id, code): record 4 has no code
    assert response.status_code == 409 and "have no value for 'id', 'code'" in response.json()["detail"], response.text
    assert not attributes(client, pid)["code"]["is_primary_key"]

    assert set_key(client, pid, found["id"], False).status_code == 200  # no key at all is allowed
    assert not any(a["is_primary_key"] for a in attributes(client, pid).values())
    response = client.put(
        f"/api/v1/projects/{pid}/attributes/00000000-0000-0000-0000-000000000000/primary-key", json={"is_primary_key": True}
    )
    assert response.status_code == 404
    assert set_key(client, pid, found["id"], True).status_code == 200
