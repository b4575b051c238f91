"""Label history: every manual-label write path records who changed what, when and how; reverting one annotator."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient

from .test_label_resolution import me
from .test_labeling import API, admin_headers, classify, make_task, manual_rows, second_user, seed_records
from .upload_helpers import upload_ok


def history(client: TestClient, pid: str, rid: int, **params: Any) -> list[dict[str, Any]]:
    response = client.get(f"{API}/{pid}/records/{rid}/label-history", params=params)
    assert response.status_code == 200, response.text
    return list(response.json())


def names(labels: list[dict[str, Any]]) -> list[str]:
    return [x["name"] for x in labels]


def test_single_bulk_and_removal_are_recorded_with_who_and_how(client: TestClient, project: dict[str, Any]) -> None:
    pid = project["id"]
    ids = seed_records(pid, ["a", "b", "c"])
    task = make_task(client, pid, "sentiment", "MULTICLASS_CLASSIFICATION", None, ["pos", "neg"])
    other = second_user(client, pid)
    admin_id, other_id = me(client, admin_headers(client)), me(client, other)

    assert classify(client, pid, ids[0], task, ["pos"]).status_code == 200  # the session cookie: the UI
    classify(client, pid, ids[0], task, ["pos"])  # the same again: no change, no entry
    classify(client, pid, ids[0], task, ["neg"], headers=other)  # a token: the SDK
    classify(client, pid, ids[0], task, ["neg"])
    url = f"{API}/{pid}/records/{ids[0]}/labeling-tasks/{task['id']}/classification"
    assert client.delete(url, headers=other).status_code == 200
    bulk = client.post(
        f"{API}/{pid}/manual-labels/bulk",
        json={"labeling_task_id": task["id"], "record_ids": ids, "label_id": task["by_name"]["pos"]},
    )
    assert bulk.status_code == 200, bulk.text

    entries = history(client, pid, ids[0])  # newest first
    summary = [(e["annotator_id"], e["changed_by"], e["via"], names(e["old_labels"]), names(e["new_labels"])) for e in entries]
    assert summary == [
        (admin_id, admin_id, "BULK", ["neg"], ["pos"]),
        (other_id, other_id, "SDK", ["neg"], []),
        (admin_id, admin_id, "UI", ["pos"], ["neg"]),
        (other_id, other_id, "SDK", [], ["neg"]),
        (admin_id, admin_id, "UI", [], ["pos"]),
    ]
    assert entries[0]["new_labels"][0]["label_id"] == task["by_name"]["pos"] and entries[0]["record_id"] == ids[0]
    assert [e["via"] for e in history(client, pid, ids[1])] == ["BULK"]
    # the project's history, by annotator, paged
    theirs = client.get(f"{API}/{pid}/label-history", params={"annotator_id": other_id}).json()
    assert [e["via"] for e in theirs] == ["SDK", "SDK"]
    page = client.get(f"{API}/{pid}/label-history", params={"limit": 2}).json()
    older = client.get(f"{API}/{pid}/label-history", params={"limit": 2, "before_id": page[-1]["id"]}).json()
    assert len(page) == 2 and len(older) == 2 and older[0]["id"] < page[-1]["id"]
    assert client.get(f"{API}/{pid}/records/999999/label-history").status_code == 404


def test_spans_are_recorded(services: Any, client: TestClient, project: dict[str, Any]) -> None:
    services.start("tokenizer")
    pid = project["id"]
    [rid] = seed_records(pid, ["Apple buys a small startup"])
    task = make_task(client, pid, "entities", "INFORMATION_EXTRACTION", "headline", ["ORG"])
    spans = f"{API}/{pid}/records/{rid}/labeling-tasks/{task['id']}/spans"
    first = client.post(spans, json={"label_id": task["by_name"]["ORG"], "token_start": 0, "token_end": 1})
    assert first.status_code == 201, first.text
    assert client.post(spans, json={"label_id": task["by_name"]["ORG"], "token_start": 0, "token_end": 1}).status_code == 200
    assert client.delete(f"{API}/{pid}/records/{rid}/labels/{first.json()['id']}").status_code == 204
    entries = history(client, pid, rid, task_id=task["id"])
    assert [(e["old_labels"], e["new_labels"]) for e in entries] == [
        ([{"label_id": task["by_name"]["ORG"], "name": "ORG", "token_start": 0, "token_end": 1}], []),
        ([], [{"label_id": task["by_name"]["ORG"], "name": "ORG", "token_start": 0, "token_end": 1}]),
    ]


def test_upload_labels_are_recorded(client: TestClient, project: dict[str, Any]) -> None:
    pid = project["id"]
    upload_ok(client, pid, "h.csv", b"headline,headline__sentiment\ngood,POS\nbad,NEG\nnone,\n")
    entries = client.get(f"{API}/{pid}/label-history").json()
    assert sorted((e["via"], names(e["new_labels"])[0]) for e in entries) == [("UPLOAD", "NEG"), ("UPLOAD", "POS")]
    assert all(e["old_labels"] == [] and e["annotator_id"] == e["changed_by"] for e in entries)


def test_revert_one_annotators_labels(client: TestClient, project: dict[str, Any]) -> None:
    pid = project["id"]
    ids = seed_records(pid, ["a", "b", "c"])
    task = make_task(client, pid, "sentiment", "MULTICLASS_CLASSIFICATION", None, ["pos", "neg"])
    other = second_user(client, pid)
    admin_id, other_id = me(client, admin_headers(client)), me(client, other)
    for rid in ids:
        classify(client, pid, rid, task, ["pos"])
        classify(client, pid, rid, task, ["pos"], headers=other)
    assert all(any(r.is_valid_manual_label for r in manual_rows(rid, task["id"])) for rid in ids)  # both agree
    since = datetime.now(UTC).isoformat()
    classify(client, pid, ids[0], task, ["neg"], headers=other)  # a later change, and a new record's label
    classify(client, pid, ids[1], task, ["neg"], headers=other)

    # undo the annotator's changes since then on ids[0] only
    url = f"{API}/{pid}/label-history/revert"
    undone = client.post(url, json={"annotator_id": other_id, "since": since, "record_ids": [ids[0]]})
    assert undone.status_code == 200, undone.text
    assert undone.json() == {"records": 1, "changes": 1}
    mine = {rid: sorted(str(r.label_id) for r in manual_rows(rid, task["id"]) if str(r.created_by) == other_id) for rid in ids}
    assert mine == {ids[0]: [task["by_name"]["pos"]], ids[1]: [task["by_name"]["neg"]], ids[2]: [task["by_name"]["pos"]]}
    latest = history(client, pid, ids[0])[0]
    assert (latest["via"], latest["annotator_id"], latest["changed_by"]) == ("REVERT", other_id, admin_id)
    assert (names(latest["old_labels"]), names(latest["new_labels"])) == (["neg"], ["pos"])

    # remove all of their labels: the admin's remain and become the decided ones
    removed = client.post(url, json={"annotator_id": other_id, "labeling_task_id": task["id"]}).json()
    assert removed == {"records": 3, "changes": 3}
    for rid in ids:
        rows = manual_rows(rid, task["id"])
        assert [str(r.created_by) for r in rows] == [admin_id] and rows[0].is_valid_manual_label
    assert client.post(url, json={"annotator_id": other_id}).json() == {"records": 0, "changes": 0}
    stranger = client.post("/api/v1/users", json={"email": "s@example.org", "password": "stranger-pw-1", "role": "ANNOTATOR"})
    assert client.post(url, json={"annotator_id": stranger.json()["id"]}).status_code == 422


def test_snapshot_import_labels_are_recorded(services: Any, client: TestClient) -> None:
    from .test_snapshot_import import import_ok, sample

    services.start("tokenizer")
    raw, data = sample("conversational_ai")
    pid = import_ok(client, "conversational_ai.zip", raw)["result"]["project_id"]
    entries = client.get(f"{API}/{pid}/label-history", params={"limit": 1000}).json()
    with_labels = {(r.record_id, r.labeling_task_id) for r in _manual(pid)}
    assert len(entries) == len(with_labels) > 0
    assert {e["via"] for e in entries} == {"SNAPSHOT"} and all(e["old_labels"] == [] for e in entries)
    assert sum(len(e["new_labels"]) for e in entries) == len(_manual(pid))


def _manual(pid: str) -> list[Any]:
    import uuid

    from sqlalchemy import select

    from shared_model.db import session_scope
    from shared_model.models import RecordLabelAssociation as RLA

    with session_scope() as session:
        return list(
            session.execute(
                select(RLA.record_id, RLA.labeling_task_id).where(RLA.project_id == uuid.UUID(pid), RLA.source_type == "MANUAL")
            ).all()
        )


def test_gold_stars_and_deleted_labels_and_tasks_are_recorded(client: TestClient, project: dict[str, Any]) -> None:
    pid = project["id"]
    ids = seed_records(pid, ["a", "b"])
    task = make_task(client, pid, "sentiment", "MULTILABEL_CLASSIFICATION", None, ["pos", "neg", "meh"])
    other = second_user(client, pid, role="EXPERT")
    admin_id, other_id = me(client, admin_headers(client)), me(client, other)
    classify(client, pid, ids[0], task, ["pos", "neg"])
    classify(client, pid, ids[0], task, ["neg"], headers=other)
    classify(client, pid, ids[1], task, ["pos"], headers=other)
    gold = f"{API}/{pid}/records/{ids[0]}/labeling-tasks/{task['id']}/gold-star"

    assert client.put(gold, headers=other).status_code == 200  # the expert's labels become gold (via a token)
    assert client.put(gold).status_code == 200  # the admin's instead: theirs set, the expert's withdrawn
    assert client.delete(gold).status_code == 200
    assert client.delete(gold).status_code == 200  # nothing to withdraw: no entry
    stars = [
        (e["event"], e["annotator_id"], e["changed_by"], e["via"], names(e["new_labels"])) for e in history(client, pid, ids[0])
    ]
    assert stars[:4] == [
        ("GOLD_STAR_WITHDRAWN", admin_id, admin_id, "UI", ["neg", "pos"]),
        ("GOLD_STAR_WITHDRAWN", other_id, admin_id, "UI", ["neg"]),
        ("GOLD_STAR_SET", admin_id, admin_id, "UI", ["neg", "pos"]),
        ("GOLD_STAR_SET", other_id, other_id, "SDK", ["neg"]),
    ]
    assert {e["event"] for e in history(client, pid, ids[0])[4:]} == {"LABELS"}

    # deleting a label: each annotator's labels it removes, old -> what stays
    assert client.delete(f"{API}/{pid}/labels/{task['by_name']['neg']}").status_code == 200
    deleted = [e for e in client.get(f"{API}/{pid}/label-history").json() if e["event"] == "LABEL_DELETED"]
    assert sorted((e["record_id"], e["annotator_id"], names(e["old_labels"]), names(e["new_labels"])) for e in deleted) == sorted(
        [(ids[0], admin_id, ["neg", "pos"], ["pos"]), (ids[0], other_id, ["neg"], [])]
    )
    assert all(e["changed_by"] == admin_id for e in deleted)

    # deleting the task: every remaining manual label, and the history stays
    assert client.delete(f"{API}/{pid}/labeling-tasks/{task['id']}").status_code == 200
    gone = [e for e in client.get(f"{API}/{pid}/label-history").json() if e["event"] == "TASK_DELETED"]
    assert sorted((e["record_id"], e["annotator_id"], names(e["old_labels"]), e["new_labels"]) for e in gone) == sorted(
        [(ids[0], admin_id, ["pos"], []), (ids[1], other_id, ["pos"], [])]
    )
    assert len(history(client, pid, ids[0])) > 3  # the deleted task's entries stay
    # a revert since before the deletion leaves the deleted task alone
    revert = client.post(f"{API}/{pid}/label-history/revert", json={"annotator_id": other_id, "since": "2000-01-01T00:00:00Z"})
    assert revert.status_code == 200 and revert.json() == {"records": 0, "changes": 0}
