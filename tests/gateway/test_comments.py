"""Comments on every kind of target; private ones only their author sees."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient

from .test_labeling import API, admin_headers, make_task, second_user, seed_records


def test_comments_on_targets_privacy_and_ownership(client: TestClient, project: dict[str, Any]) -> None:
    pid = project["id"]
    [rid] = seed_records(pid, ["x"])
    task = make_task(client, pid, "entities", "INFORMATION_EXTRACTION", "headline", ["ORG"])
    lookup = client.get(f"{API}/{pid}/lookup-lists").json()[0]
    url = f"{API}/{pid}/comments"
    me = admin_headers(client)
    other = second_user(client, pid)

    targets = [
        ("RECORD", str(rid)),
        ("LABELING_TASK", task["id"]),
        ("LABEL", task["by_name"]["ORG"]),
        ("LOOKUP_LIST", lookup["id"]),
    ]
    for target_type, target_id in targets:
        response = client.post(
            url, json={"target_type": target_type, "target_id": target_id, "body": f"**note** on {target_type}"}
        )
        assert response.status_code == 201, response.text
    private = client.post(url, json={"target_type": "RECORD", "target_id": str(rid), "body": "secret", "is_private": True}).json()

    mine = client.get(url, params={"target_type": "RECORD", "target_id": str(rid)}, headers=me).json()
    assert [c["body"] for c in mine] == ["**note** on RECORD", "secret"]
    theirs = client.get(url, params={"target_type": "RECORD", "target_id": str(rid)}, headers=other).json()
    assert [c["body"] for c in theirs] == ["**note** on RECORD"]
    # the annotator: not the comment on the lookup list (they may not read lookup lists); the expert: all four
    assert sorted(c["target_type"] for c in client.get(url, headers=other).json()) == ["LABEL", "LABELING_TASK", "RECORD"]
    expert = second_user(client, pid, "expert@example.org", role="EXPERT")
    assert len(client.get(url, headers=expert).json()) == 4
    assert client.patch(f"{url}/{private['id']}", json={"body": "hack"}, headers=other).status_code == 404
    shared_id = mine[0]["id"]
    assert client.patch(f"{url}/{shared_id}", json={"body": "hack"}, headers=other).status_code == 403
    assert client.delete(f"{url}/{shared_id}", headers=other).status_code == 403
    edited = client.patch(f"{url}/{private['id']}", json={"is_private": False}, headers=me).json()
    assert edited["is_private"] is False
    assert len(client.get(url, params={"target_type": "RECORD"}, headers=other).json()) == 2
    assert client.delete(f"{url}/{private['id']}", headers=me).status_code == 204

    bad = [
        ({"target_type": "RECORD", "target_id": "999999"}, 404, "999999"),
        ({"target_type": "RECORD", "target_id": "abc"}, 422, "integer"),
        ({"target_type": "HEURISTIC", "target_id": str(uuid.uuid4())}, 404, "heuristic"),
        ({"target_type": "DATA_SLICE", "target_id": "nope"}, 422, "UUID"),
        ({"target_type": "PROJECT", "target_id": "x"}, 422, "target_type"),
    ]
    for payload, status, words in bad:
        response = client.post(url, json={**payload, "body": "b"})
        assert response.status_code == status, response.text
        assert words in response.json()["detail"]
    assert client.post(url, json={"target_type": "RECORD", "target_id": str(rid), "body": ""}).status_code == 422

    # deleting the task removes the comments on it and its labels
    preview = client.delete(f"{API}/{pid}/labeling-tasks/{task['id']}", params={"dry_run": True}).json()["removes"]
    assert preview["comments"] == 2 and preview["lookup_lists_unlinked"] == 1
    client.delete(f"{API}/{pid}/labeling-tasks/{task['id']}")
    assert {c["target_type"] for c in client.get(url).json()} == {"RECORD", "LOOKUP_LIST"}
