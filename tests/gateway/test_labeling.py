"""Labeling tasks, labels and manual classification labels through the gateway API (real Postgres)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from shared_model.db import session_scope
from shared_model.models import Attribute, DataType, LookupList, Record
from shared_model.models import RecordLabelAssociation as RLA

API = "/api/v1/projects"


# --- helpers (used by the other test_labeling*/test_lookup*/test_comments* modules too) ---------------------------


def seed_records(project_id: str, texts: list[str], category: list[str] | None = None) -> list[int]:
    """Attributes ``id`` (INTEGER), ``headline`` (TEXT), ``topic`` (CATEGORY) and one record per text."""
    with session_scope() as session:
        pid = uuid.UUID(project_id)
        session.add_all(
            [
                Attribute(project_id=pid, name="id", data_type=DataType.INTEGER, relative_position=0, is_primary_key=True),
                Attribute(project_id=pid, name="headline", data_type=DataType.TEXT, relative_position=1),
                Attribute(project_id=pid, name="topic", data_type=DataType.CATEGORY, relative_position=2),
            ]
        )
        topics = category or ["news"] * len(texts)
        records = [Record(project_id=pid, data={"id": i, "headline": t, "topic": topics[i]}) for i, t in enumerate(texts)]
        session.add_all(records)
        session.flush()
        return [r.id for r in records]


def make_task(
    client: TestClient, project_id: str, name: str, task_type: str, attribute: str | None, labels: list[str]
) -> dict[str, Any]:
    body = {
        "name": name,
        "task_type": task_type,
        "attribute": attribute,
        "labels": [{"name": label, "hotkey": str(i + 1)} for i, label in enumerate(labels)],
    }
    response = client.post(f"{API}/{project_id}/labeling-tasks", json=body)
    assert response.status_code == 201, response.text
    task: dict[str, Any] = response.json()
    task["by_name"] = {label["name"]: label["id"] for label in task["labels"]}
    return task


def second_user(
    client: TestClient,
    project_id: str,
    email: str = "annotator@example.org",
    role: str = "ANNOTATOR",
    *,
    work: bool = True,
) -> dict[str, str]:
    """A second project member (an ANNOTATOR unless ``role``); returns Bearer headers for them. An annotator reaches
    only records of work assigned to them: with ``work`` every record the project has now is assigned to them."""
    assert client.post("/api/v1/users", json={"email": email, "password": "annotator-pw-1", "role": role}).status_code == 201
    assert client.post(f"{API}/{project_id}/members", json={"email": email, "role": role}).status_code == 201
    other = TestClient(client.app)
    assert other.post("/api/v1/auth/login", json={"email": email, "password": "annotator-pw-1"}).status_code == 200
    token = other.post("/api/v1/tokens", json={"name": "t"}).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    if work and role == "ANNOTATOR":
        assign_all(client, project_id, headers)
    return headers


def assign_all(client: TestClient, project_id: str, headers: dict[str, str]) -> None:
    """Assign every record the project has now to the user behind ``headers`` (as the admin, an assignment)."""
    with session_scope() as session:
        ids = list(session.scalars(select(Record.id).where(Record.project_id == uuid.UUID(project_id)).order_by(Record.id)))
    if not ids:
        return
    user_id = client.get("/api/v1/auth/me", headers=headers).json()["id"]
    body = {"name": "everything", "record_ids": ids, "annotator_ids": [user_id]}
    response = client.post(f"{API}/{project_id}/assignments", json=body)
    assert response.status_code == 201, response.text


def admin_headers(client: TestClient) -> dict[str, str]:
    return {"Authorization": f"Bearer {client.post('/api/v1/tokens', json={'name': 'admin'}).json()['token']}"}


def manual_rows(record_id: int, task_id: str) -> list[RLA]:
    with session_scope() as session:
        rows = session.scalars(
            select(RLA).where(RLA.record_id == record_id, RLA.labeling_task_id == uuid.UUID(task_id), RLA.source_type == "MANUAL")
        ).all()
        for row in rows:
            session.expunge(row)
        return list(rows)


def classify(
    client: TestClient, pid: str, rid: int, task: dict[str, Any], labels: list[str], headers: dict[str, str] | None = None
) -> Any:
    body = {"label_ids": [task["by_name"][name] for name in labels]}
    return client.put(f"{API}/{pid}/records/{rid}/labeling-tasks/{task['id']}/classification", json=body, headers=headers or {})


# --- tasks and labels ---------------------------------------------------------------------------------------------


def test_task_kinds_and_their_rules(client: TestClient, project: dict[str, Any]) -> None:
    pid = project["id"]
    seed_records(pid, ["a b"])
    whole = make_task(client, pid, "clickbait", "MULTICLASS_CLASSIFICATION", None, ["yes", "no"])
    assert whole["task_target"] == "ON_WHOLE_RECORD" and whole["attribute"] is None
    on_attr = make_task(client, pid, "sentiment", "MULTICLASS_CLASSIFICATION", "headline", ["pos", "neg"])
    assert on_attr["task_target"] == "ON_ATTRIBUTE" and on_attr["attribute"] == "headline"
    multi = make_task(client, pid, "topics", "MULTILABEL_CLASSIFICATION", None, ["a", "b", "c"])
    assert multi["task_type"] == "MULTILABEL_CLASSIFICATION"
    extraction = make_task(client, pid, "entities", "INFORMATION_EXTRACTION", "headline", ["PERSON", "ORG"])
    assert extraction["task_target"] == "ON_ATTRIBUTE"
    # an extraction label gets a lookup list of its name (as the original does)
    with session_scope() as session:
        lists = {lst.name: lst.label_id for lst in session.scalars(select(LookupList))}
    assert lists == {"PERSON": uuid.UUID(extraction["by_name"]["PERSON"]), "ORG": uuid.UUID(extraction["by_name"]["ORG"])}
    assert [t["name"] for t in client.get(f"{API}/{pid}/labeling-tasks").json()] == [
        "clickbait",
        "sentiment",
        "topics",
        "entities",
    ]

    bad = [
        ({"name": "clickbait"}, 409, "already exists"),
        ({"name": "e2", "task_type": "INFORMATION_EXTRACTION"}, 422, "whole record"),
        ({"name": "e3", "task_type": "INFORMATION_EXTRACTION", "attribute": "topic"}, 422, "CATEGORY"),
        ({"name": "e4", "attribute": "nope"}, 422, "nope"),
        ({"name": "e5", "task_type": "SOMETHING"}, 422, "task_type"),
    ]
    for body, status, words in bad:
        response = client.post(f"{API}/{pid}/labeling-tasks", json=body)
        assert response.status_code == status, (body, response.text)
        assert words in response.json()["detail"], response.text


def test_labels_hotkeys_rename_and_delete_preview(client: TestClient, project: dict[str, Any]) -> None:
    pid = project["id"]
    [rid] = seed_records(pid, ["x"])
    task = make_task(client, pid, "sentiment", "MULTICLASS_CLASSIFICATION", None, ["pos", "neg"])
    base = f"{API}/{pid}/labeling-tasks/{task['id']}/labels"
    taken = client.post(base, json={"name": "neutral", "hotkey": "1"})
    assert taken.status_code == 409 and "hotkey '1' is already used by label 'pos'" in taken.json()["detail"]
    assert client.post(base, json={"name": "pos"}).status_code == 409
    assert client.post(base, json={"name": "x", "hotkey": "ab"}).status_code == 422
    assert client.post(base, json={"name": "x", "color": "not a color!"}).status_code == 422
    neutral = client.post(base, json={"name": "neutral", "hotkey": "n", "color": "#aabbcc"}).json()
    clash = client.patch(f"{API}/{pid}/labels/{neutral['id']}", json={"hotkey": "2"})
    assert clash.status_code == 409 and "'neg'" in clash.json()["detail"]
    # hotkeys are per task: another task may reuse "1"
    make_task(client, pid, "other", "MULTICLASS_CLASSIFICATION", None, ["z"])

    assert classify(client, pid, rid, task, ["pos"]).status_code == 200
    renamed = client.patch(f"{API}/{pid}/labels/{task['by_name']['pos']}", json={"name": "positive", "hotkey": None})
    assert renamed.json()["name"] == "positive" and renamed.json()["hotkey"] is None
    [row] = manual_rows(rid, task["id"])
    assert str(row.label_id) == task["by_name"]["pos"] and row.is_valid_manual_label

    preview = client.delete(f"{API}/{pid}/labels/{task['by_name']['pos']}", params={"dry_run": "true"}).json()
    assert preview["dry_run"] and preview["removes"]["record_label_associations"]["MANUAL"] == 1
    assert len(manual_rows(rid, task["id"])) == 1
    done = client.delete(f"{API}/{pid}/labels/{task['by_name']['pos']}").json()
    assert done["removed"]["record_label_associations"]["MANUAL"] == 1
    assert manual_rows(rid, task["id"]) == []

    assert classify(client, pid, rid, task, ["neg"]).status_code == 200
    task_preview = client.delete(f"{API}/{pid}/labeling-tasks/{task['id']}", params={"dry_run": True}).json()["removes"]
    assert task_preview["labels"] == 2 and task_preview["record_label_associations"]["MANUAL"] == 1
    assert client.get(f"{API}/{pid}/labeling-tasks/{task['id']}").status_code == 200
    assert client.delete(f"{API}/{pid}/labeling-tasks/{task['id']}").json()["removed"]["labels"] == 2
    assert client.get(f"{API}/{pid}/labeling-tasks/{task['id']}").status_code == 404
    assert manual_rows(rid, task["id"]) == []


# --- manual classification ------------------------------------------------------------------------------------------


def test_a_body_that_names_no_labels_never_clears_them(client: TestClient, project: dict[str, Any]) -> None:
    pid = project["id"]
    (rid,) = seed_records(pid, ["x"])
    task = make_task(client, pid, "sentiment", "MULTICLASS_CLASSIFICATION", None, ["pos", "neg"])
    classify(client, pid, rid, task, ["pos"])
    url = f"{API}/{pid}/records/{rid}/labeling-tasks/{task['id']}/classification"
    for body, words in [
        ({}, "give label_ids"),
        ({"labels": [task["by_name"]["neg"]]}, "body.labels: Extra inputs are not permitted"),
    ]:
        response = client.put(url, json=body)
        assert response.status_code == 422 and words in response.json()["detail"], response.text
        assert [str(row.label_id) for row in manual_rows(rid, task["id"])] == [task["by_name"]["pos"]]
    assert client.put(url, json={"label_ids": []}).json()["mine"] == []  # clearing is explicit
    assert manual_rows(rid, task["id"]) == []


def test_unknown_fields_routes_and_methods_are_problems(client: TestClient, project: dict[str, Any]) -> None:
    pid = project["id"]
    task = make_task(client, pid, "sentiment", "MULTICLASS_CLASSIFICATION", None, ["pos", "neg"])
    renamed = client.patch(f"{API}/{pid}/labeling-tasks/{task['id']}", json={"name": "mood", "colour": "red"})
    assert renamed.status_code == 422 and "body.colour: Extra inputs are not permitted" in renamed.json()["detail"]
    assert client.get(f"{API}/{pid}/labeling-tasks/{task['id']}").json()["name"] == "sentiment"  # nothing changed
    seed = client.post(f"{API}/{pid}/weak-supervision", json={"labeling_task_id": task["id"], "seed": -1})
    assert seed.status_code == 422 and "seed" in seed.json()["detail"]
    for method, path, status, words in [
        ("GET", "/api/v1/nonexistent", 404, "there is no route /api/v1/nonexistent"),
        ("DELETE", f"{API}", 405, f"DELETE is not allowed on {API}"),
    ]:
        response = client.request(method, path)
        assert response.status_code == status
        assert response.headers["content-type"].startswith("application/problem+json")
        assert words in response.json()["detail"]


def test_classification_multilabel_and_bad_input(client: TestClient, project: dict[str, Any]) -> None:
    pid = project["id"]
    rid, rid2 = seed_records(pid, ["x", "y"])
    single = make_task(client, pid, "sentiment", "MULTICLASS_CLASSIFICATION", None, ["pos", "neg"])
    multi = make_task(client, pid, "topics", "MULTILABEL_CLASSIFICATION", None, ["a", "b", "c"])
    spans = make_task(client, pid, "entities", "INFORMATION_EXTRACTION", "headline", ["ORG"])

    body = classify(client, pid, rid, single, ["pos"]).json()
    assert [row["label_id"] for row in body["mine"]] == [single["by_name"]["pos"]] and len(body["valid"]) == 1
    body = classify(client, pid, rid, single, ["neg"]).json()  # replaces, never adds
    assert [row["label_id"] for row in body["mine"]] == [single["by_name"]["neg"]]
    body = classify(client, pid, rid, multi, ["a", "c"]).json()
    assert sorted(r["label_id"] for r in body["mine"]) == sorted([multi["by_name"]["a"], multi["by_name"]["c"]])
    assert len(body["valid"]) == 2
    body = classify(client, pid, rid, multi, ["b"]).json()
    assert [r["label_id"] for r in body["mine"]] == [multi["by_name"]["b"]]
    cleared = client.delete(f"{API}/{pid}/records/{rid}/labeling-tasks/{multi['id']}/classification").json()
    assert cleared["mine"] == [] and manual_rows(rid, multi["id"]) == []

    url = f"{API}/{pid}/records/{rid2}/labeling-tasks"
    cases = [
        (
            f"{url}/{single['id']}/classification",
            {"label_ids": [single["by_name"]["pos"], single["by_name"]["neg"]]},
            "single-label",
        ),
        (f"{url}/{single['id']}/classification", {"label_id": str(uuid.uuid4())}, "does not exist"),
        (f"{url}/{single['id']}/classification", {"label_id": multi["by_name"]["a"]}, "belongs to task 'topics'"),
        (f"{url}/{spans['id']}/classification", {"label_id": spans["by_name"]["ORG"]}, "INFORMATION_EXTRACTION"),
    ]
    for path, payload, words in cases:
        response = client.put(path, json=payload)
        assert response.status_code == 422, response.text
        assert words in response.json()["detail"]
    assert manual_rows(rid2, single["id"]) == [] and manual_rows(rid2, spans["id"]) == []
    missing = client.put(f"{API}/{pid}/records/999999/labeling-tasks/{single['id']}/classification", json={"label_ids": []})
    assert missing.status_code == 404 and "999999" in missing.json()["detail"]
    other_task = client.put(f"{url}/{uuid.uuid4()}/classification", json={"label_ids": []})
    assert other_task.status_code == 404


def test_valid_manual_label_rule_and_gold_star(client: TestClient, project: dict[str, Any]) -> None:
    pid = project["id"]
    [rid] = seed_records(pid, ["x"])
    task = make_task(client, pid, "sentiment", "MULTICLASS_CLASSIFICATION", None, ["pos", "neg"])
    multi = make_task(client, pid, "topics", "MULTILABEL_CLASSIFICATION", None, ["a", "b"])
    other = second_user(client, pid, role="EXPERT")  # gold stars: EXPERT and above

    def valid(task_id: str) -> list[tuple[str, str]]:
        return sorted((str(r.created_by), str(r.label_id)) for r in manual_rows(rid, task_id) if r.is_valid_manual_label)

    classify(client, pid, rid, task, ["pos"])
    assert len(valid(task["id"])) == 1  # one annotator: their label counts
    classify(client, pid, rid, task, ["neg"], headers=other)
    assert valid(task["id"]) == []  # disagreement: nothing counts
    classify(client, pid, rid, task, ["pos"], headers=other)
    agreed = valid(task["id"])
    assert len(agreed) == 1 and agreed[0][1] == task["by_name"]["pos"]  # agreement: counted once
    classify(client, pid, rid, task, ["neg"], headers=other)
    starred = client.put(f"{API}/{pid}/records/{rid}/labeling-tasks/{task['id']}/gold-star", headers=other).json()
    assert [r["label_id"] for r in starred["valid"]] == [task["by_name"]["neg"]]  # the gold star resolves it
    # changing the gold-starred labels keeps the star
    classify(client, pid, rid, task, ["pos"], headers=other)
    assert [label for _, label in valid(task["id"])] == [task["by_name"]["pos"]]
    assert client.delete(f"{API}/{pid}/records/{rid}/labeling-tasks/{task['id']}/gold-star", headers=other).status_code == 200
    assert len(valid(task["id"])) == 1  # both say pos now
    nothing = client.put(f"{API}/{pid}/records/{rid}/labeling-tasks/{multi['id']}/gold-star")
    assert nothing.status_code == 409 and "no labels" in nothing.json()["detail"]

    # multi-label: agreement means the same label set
    classify(client, pid, rid, multi, ["a", "b"])
    classify(client, pid, rid, multi, ["b", "a"], headers=other)
    assert len(valid(multi["id"])) == 2
    classify(client, pid, rid, multi, ["a"], headers=other)
    assert valid(multi["id"]) == []


def test_bulk_labeling_by_ids_and_filter_is_all_or_nothing(client: TestClient, project: dict[str, Any]) -> None:
    pid = project["id"]
    ids = seed_records(pid, ["a", "b", "c", "d"], category=["sport", "news", "sport", "tech"])
    task = make_task(client, pid, "topic", "MULTICLASS_CLASSIFICATION", None, ["S", "N"])
    multi = make_task(client, pid, "tags", "MULTILABEL_CLASSIFICATION", None, ["x", "y"])
    url = f"{API}/{pid}/manual-labels/bulk"
    by_filter = client.post(
        url,
        json={
            "labeling_task_id": task["id"],
            "label_id": task["by_name"]["S"],
            "filter": {"attribute": "topic", "value": "sport"},
        },
    )
    assert by_filter.json()["records"] == 2
    assert [len(manual_rows(i, task["id"])) for i in ids] == [1, 0, 1, 0]
    by_ids = client.post(
        url, json={"labeling_task_id": multi["id"], "label_ids": list(multi["by_name"].values()), "record_ids": ids}
    )
    assert by_ids.json() == {"records": 4, "labels_written": 8, "labeling_task_id": multi["id"]}
    assert all(r.is_valid_manual_label for i in ids for r in manual_rows(i, multi["id"]))

    bad = client.post(
        url, json={"labeling_task_id": task["id"], "label_id": task["by_name"]["N"], "record_ids": [ids[1], 424242]}
    )
    assert bad.status_code == 422 and "424242" in bad.json()["detail"]
    assert manual_rows(ids[1], task["id"]) == []  # nothing half-written
    both = client.post(
        url, json={"labeling_task_id": task["id"], "label_id": task["by_name"]["N"], "record_ids": ids, "filter": None}
    )
    assert both.status_code == 200
    neither = client.post(url, json={"labeling_task_id": task["id"], "label_id": task["by_name"]["N"]})
    assert neither.status_code == 422 and "exactly one" in neither.json()["detail"]
    no_label = client.post(url, json={"labeling_task_id": task["id"], "record_ids": ids})
    assert no_label.status_code == 422 and "at least one label" in no_label.json()["detail"]
