"""Manual labels kept per annotator; the project's resolution rule decides the label readers use (real Postgres)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from .test_labeling import API, admin_headers, classify, make_task, manual_rows, second_user, seed_records
from .upload_helpers import export


def three_annotators(client: TestClient, pid: str) -> list[dict[str, str]]:
    """Bearer headers of the admin and two annotators."""
    return [admin_headers(client), second_user(client, pid, "b@example.org"), second_user(client, pid, "c@example.org")]


def me(client: TestClient, headers: dict[str, str]) -> str:
    return str(client.get("/api/v1/auth/me", headers=headers).json()["id"])


def decided(client: TestClient, pid: str, rid: int, task: dict[str, Any]) -> list[str]:
    """Names of the record's decided (valid) labels of the task."""
    names = {v: k for k, v in task["by_name"].items()}
    return sorted(names[str(r.label_id)] for r in manual_rows(rid, task["id"]) if r.is_valid_manual_label)


def test_rules_decide_between_annotators_and_everything_reads_the_decision(client: TestClient, project: dict[str, Any]) -> None:
    pid = project["id"]
    ids = seed_records(pid, ["two for pos", "tie", "expert says neg", "one annotator"])
    task = make_task(client, pid, "sentiment", "MULTICLASS_CLASSIFICATION", None, ["pos", "neg", "neu"])
    a, b, c = three_annotators(client, pid)
    for headers, label in ((a, "pos"), (b, "pos"), (c, "neg")):
        assert classify(client, pid, ids[0], task, [label], headers=headers).status_code == 200
    for headers, label in ((a, "pos"), (b, "neg"), (c, "neu")):
        classify(client, pid, ids[1], task, [label], headers=headers)
    for headers, label in ((a, "pos"), (b, "pos"), (c, "neg")):
        classify(client, pid, ids[2], task, [label], headers=headers)
    classify(client, pid, ids[3], task, ["neu"], headers=b)
    # one user's label never replaces another's: three rows each
    assert [len(manual_rows(rid, task["id"])) for rid in ids] == [3, 3, 3, 1]

    assert client.get(f"{API}/{pid}/label-resolution").json() == {"rule": "UNANIMOUS", "expert_user_id": None, "recomputed": None}
    assert [decided(client, pid, rid, task) for rid in ids] == [[], [], [], ["neu"]]

    majority = client.put(f"{API}/{pid}/label-resolution", json={"rule": "MAJORITY"})
    assert majority.status_code == 200, majority.text
    assert majority.json()["recomputed"] == 4
    assert [decided(client, pid, rid, task) for rid in ids] == [["pos"], [], ["pos"], ["neu"]]  # a tie decides nothing
    progress = client.get(f"{API}/{pid}/metrics/progress").json()
    assert progress["tasks"][0]["manually_labeled"] == 3
    rows = export(client, pid)
    assert [r["__sentiment__MANUAL"] for r in rows] == ["pos", None, "pos", "neu"]
    assert [r["__sentiment__MANUAL__decided_by"] for r in rows] == ["MAJORITY", "UNDECIDED", "MAJORITY", "SINGLE_ANNOTATOR"]
    # a new label is decided by the rule at once
    classify(client, pid, ids[1], task, ["pos"], headers=c)
    assert decided(client, pid, ids[1], task) == ["pos"]

    expert = me(client, c)
    assert client.put(f"{API}/{pid}/label-resolution", json={"rule": "EXPERT", "expert_user_id": expert}).status_code == 200
    assert [decided(client, pid, rid, task) for rid in ids] == [["neg"], ["pos"], ["neg"], ["neu"]]
    rows = export(client, pid)
    assert [r["__sentiment__MANUAL__decided_by"] for r in rows] == ["EXPERT", "EXPERT", "EXPERT", "SINGLE_ANNOTATOR"]

    # a gold star outranks every rule
    assert client.put(f"{API}/{pid}/records/{ids[0]}/labeling-tasks/{task['id']}/gold-star", headers=a).status_code == 200
    assert decided(client, pid, ids[0], task) == ["pos"]
    assert export(client, pid)[0]["__sentiment__MANUAL__decided_by"] == "GOLD_STAR"

    # the data browser filters by anyone's label or by the decided one
    def neg(decided: bool) -> list[int]:
        condition = {"kind": "manual_label", "task_id": task["id"], "mode": "labels", "label_ids": [task["by_name"]["neg"]]}
        body = {"filter": {"conditions": [{**condition, "decided": decided}]}}
        return [r["id"] for r in client.post(f"{API}/{pid}/records/search", json=body).json()["items"]]

    assert neg(False) == ids[:3]
    assert neg(True) == [ids[2]]

    back = client.put(f"{API}/{pid}/label-resolution", json={"rule": "UNANIMOUS"})
    assert back.json()["rule"] == "UNANIMOUS"
    assert [decided(client, pid, rid, task) for rid in ids] == [["pos"], [], [], ["neu"]]
    assert export(client, pid)[1]["__sentiment__MANUAL__decided_by"] == "UNDECIDED"


def test_rule_input_is_checked(client: TestClient, project: dict[str, Any]) -> None:
    pid = project["id"]
    url = f"{API}/{pid}/label-resolution"
    assert client.put(url, json={"rule": "EXPERT"}).status_code == 422
    assert client.put(url, json={"rule": "MAJORITY", "expert_user_id": me(client, admin_headers(client))}).status_code == 422
    assert client.put(url, json={"rule": "LOUDEST"}).status_code == 422
    stranger = client.post("/api/v1/users", json={"email": "x@example.org", "password": "stranger-pw-1", "role": "EXPERT"})
    response = client.put(url, json={"rule": "EXPERT", "expert_user_id": stranger.json()["id"]})
    assert response.status_code == 422 and "not a member" in response.json()["detail"]
    assert client.get(url).json()["rule"] == "UNANIMOUS"  # nothing stored


def test_multilabel_majority_compares_label_sets(client: TestClient, project: dict[str, Any]) -> None:
    pid = project["id"]
    [rid] = seed_records(pid, ["x"])
    task = make_task(client, pid, "topics", "MULTILABEL_CLASSIFICATION", None, ["a", "b", "c"])
    a, b, c = three_annotators(client, pid)
    classify(client, pid, rid, task, ["a", "b"], headers=a)
    classify(client, pid, rid, task, ["b", "a"], headers=b)
    classify(client, pid, rid, task, ["a"], headers=c)
    client.put(f"{API}/{pid}/label-resolution", json={"rule": "MAJORITY"})
    assert decided(client, pid, rid, task) == ["a", "b"]
    assert export(client, pid)[0]["__topics__MANUAL"] == ["a", "b"]
