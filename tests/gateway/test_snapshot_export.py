"""Snapshot export: a project downloads as the original's project export, and that file imports again as an equal project."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from collections import Counter, defaultdict
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from shared_model.db import session_scope
from shared_model.heuristic_results import ASSOCIATIONS
from shared_model.models import InformationSource, RecordLabelAssociation, SourceType

from .conftest import login
from .test_labeling import API, make_task, seed_records
from .test_snapshot_import import import_ok, sample
from .upload_helpers import all_records, export, wait_job

KEYS = {
    "project_details_data", "records_data", "embeddings_data", "embedding_tensors_data", "attributes_data",
    "labeling_tasks_data", "labeling_task_labels_data", "information_sources_data", "information_source_payloads_data",
    "information_source_statistics_data", "record_label_associations_data", "record_label_association_tokens_data",
    "record_attribute_token_statistics_data", "knowledge_bases_data", "weak_supervision_task_data", "terms_data",
    "data_slice_data", "data_slice_record_association_data", "comments",
}  # fmt: skip
FILLED = {
    "project_details_data", "records_data", "attributes_data", "labeling_tasks_data", "labeling_task_labels_data",
    "information_sources_data", "record_label_associations_data", "record_label_association_tokens_data",
    "knowledge_bases_data", "terms_data", "weak_supervision_task_data",
}  # fmt: skip


def download(client: TestClient, pid: str) -> tuple[Any, bytes, dict[str, Any]]:
    """The response, the zip's bytes and its one JSON file parsed."""
    response = client.get(f"{API}/{pid}/snapshot")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        names = archive.namelist()
        assert len(names) == 1 and names[0].startswith("project_export_") and names[0].endswith(".json")
        data = json.loads(archive.read(names[0]))
    assert set(data) == KEYS
    assert all(data[key] == [] for key in KEYS - FILLED)
    return response, response.content, data


def weak_supervision_state(client: TestClient, pid: str, keys: list[str], tasks: list[dict[str, Any]]) -> dict[str, Any]:
    """The weak-supervision labels as the export shows them (by primary key) and as the data browser's filters count
    them (per label, and per label above a confidence)."""
    rows = export(client, pid)
    columns = sorted(c for c in rows[0] if "__WEAK_SUPERVISION" in c) if rows else []
    exported = sorted((tuple(r[k] for k in keys), [r[c] for c in columns]) for r in rows if any(r[c] for c in columns))
    counts = {}
    for task in tasks:
        for label in task["labels"]:
            for low in (0.0, 0.8):
                condition = {
                    "kind": "weak_supervision",
                    "task_id": task["id"],
                    "mode": "labels",
                    "label_ids": [label["id"]],
                    "min_confidence": low,
                }
                body = {"filter": {"conditions": [condition]}, "count": "exact"}
                counts[f"{task['name']}/{label['name']}/{low}"] = client.post(f"{API}/{pid}/records/count", json=body).json()[
                    "total"
                ]
    return {"columns": columns, "exported": exported, "filter_counts": counts}


def state(client: TestClient, pid: str) -> dict[str, Any]:
    """What a round trip must keep, read through the API (and the votes view), with records named by primary key."""
    attributes = client.get(f"{API}/{pid}/attributes").json()
    keys = [a["name"] for a in attributes if a["is_primary_key"]]
    attribute_names = {a["id"]: a["name"] for a in attributes}
    records = all_records(client, pid)
    key_of = {r["id"]: tuple(r["data"][k] for k in keys) for r in records}
    tasks = client.get(f"{API}/{pid}/labeling-tasks").json()
    task_names = {t["id"]: t["name"] for t in tasks}
    label_names = {label["id"]: label["name"] for t in tasks for label in t["labels"]}
    lists = client.get(f"{API}/{pid}/lookup-lists").json()
    heuristics = client.get(f"{API}/{pid}/heuristics").json()
    heuristic_names = {h["id"]: h["name"] for h in heuristics}

    with session_scope() as session:
        labelled = sorted(
            set(
                session.scalars(
                    select(RecordLabelAssociation.record_id).where(
                        RecordLabelAssociation.project_id == pid, RecordLabelAssociation.source_type == SourceType.MANUAL
                    )
                )
            )
        )
        configs = dict(
            session.execute(select(InformationSource.name, InformationSource.config).where(InformationSource.project_id == pid))
            .tuples()
            .all()
        )
        votes = session.execute(
            text(
                "SELECT source_id, label_id, record_id, token_start, token_end, confidence"
                f" FROM {ASSOCIATIONS} WHERE project_id = :p"
            ),
            {"p": pid},
        ).all()
    manual = []
    for record_id in labelled:  # the labels API, record by record
        response = client.get(f"{API}/{pid}/records/{record_id}/labels", params={"source_type": "manual"})
        assert response.status_code == 200, response.text
        manual += [
            (key_of[record_id], task_names[row["labeling_task_id"]], label_names[row["label_id"]], row["token_start"],
             row["token_end"], row["return_type"], row["confidence"], row["is_gold_star"], row["is_valid_manual_label"])
            for row in response.json()
        ]  # fmt: skip
    per_heuristic: dict[str, list[Any]] = defaultdict(list)
    for source_id, label_id, record_id, start, end, confidence in votes:
        per_heuristic[heuristic_names[str(source_id)]].append(
            (key_of[record_id], label_names[str(label_id)], start, end, round(float(confidence), 12))
        )
    return {
        "weak_supervision": weak_supervision_state(client, pid, keys, tasks),
        "attributes": [(a["name"], a["data_type"], a["is_primary_key"], a["user_created"]) for a in attributes],
        "records": sorted(json.dumps(r["data"], sort_keys=True) for r in records),
        "tasks": sorted(
            (
                t["name"],
                t["task_type"],
                t["task_target"],
                attribute_names.get(t["attribute_id"]),
                sorted((label["name"], label["color"], label["hotkey"]) for label in t["labels"]),
            )
            for t in tasks
        ),  # fmt: skip
        "lookup_lists": sorted(
            (
                item["name"],
                item["python_name"],
                item["description"],
                label_names.get(item["label_id"]),
                sorted(
                    (t["value"], t["comment"], t["blacklisted"])
                    for t in client.get(f"{API}/{pid}/lookup-lists/{item['id']}/terms").json()
                ),
            )
            for item in lists
        ),  # fmt: skip
        "heuristics": sorted(
            (
                h["name"],
                h["type"],
                h["source_code"],
                h["description"],
                h["is_selected"],
                task_names[h["labeling_task_id"]],
                h["association_count"],
            )
            for h in heuristics
        ),  # fmt: skip
        "configs": configs,
        "manual": sorted(manual, key=repr),
        "votes": {name: sorted(rows, key=repr) for name, rows in per_heuristic.items()},
    }


def test_conversational_ai_round_trip(client: TestClient) -> None:
    raw, original = sample("conversational_ai")
    pid = import_ok(client, "conversational_ai.zip", raw)["result"]["project_id"]
    tasks = {t["name"]: t for t in client.get(f"{API}/{pid}/labeling-tasks").json()}
    zero_shot = {
        "name": "zs intent", "labeling_task_id": tasks["intent"]["id"], "attribute": "text", "model": "some-model",
        "min_confidence": 0.4, "excluded_labels": ["401k"],
    }  # fmt: skip
    assert client.post(f"{API}/{pid}/zero-shot/heuristics", json=zero_shot).status_code == 201

    response, content, data = download(client, pid)
    assert response.headers["content-disposition"] == 'attachment; filename="Conversational_AI.zip"'
    assert int(response.headers["content-length"]) == len(content)
    assert data["project_details_data"]["name"] == "Conversational AI"
    assert data["project_details_data"]["description"] == "Detecting intents from chat lines"
    assert len(data["records_data"]) == 1800
    kinds = Counter(a["source_type"] for a in data["record_label_associations_data"])
    expected = Counter(a["source_type"] for a in original["record_label_associations_data"])
    assert kinds["MANUAL"] == expected["MANUAL"] == 309
    assert kinds["INFORMATION_SOURCE"] == expected["INFORMATION_SOURCE"]
    assert kinds["WEAK_SUPERVISION"] == expected["WEAK_SUPERVISION"] == 1619  # the imported current version
    assert set(kinds) == {"MANUAL", "INFORMATION_SOURCE", "WEAK_SUPERVISION"}
    [version] = data["weak_supervision_task_data"]
    assert version["state"] == "FINISHED" and version["selected_labeling_tasks"] == "intent"
    assert version["distinct_records"] == version["result_count"] == 1619
    weak = [a for a in data["record_label_associations_data"] if a["source_type"] == "WEAK_SUPERVISION"]
    assert {a["weak_supervision_id"] for a in weak} == {version["id"]} and len({a["id"] for a in weak}) == 1619
    records = {r["id"]: r["data"]["running_id"] for r in data["records_data"]}
    old_records = {r["id"]: r["data"]["running_id"] for r in original["records_data"]}
    names = {label["id"]: label["name"] for label in data["labeling_task_labels_data"]}
    old_names = {label["id"]: label["name"] for label in original["labeling_task_labels_data"]}
    assert sorted((records[a["record_id"]], names[a["labeling_task_label_id"]], a["confidence"]) for a in weak) == sorted(
        (old_records[a["record_id"]], old_names[a["labeling_task_label_id"]], a["confidence"])
        for a in original["record_label_associations_data"]
        if a["source_type"] == "WEAK_SUPERVISION"
    )
    assert len(data["record_label_association_tokens_data"]) == len(original["record_label_association_tokens_data"])
    exported_zs = next(s for s in data["information_sources_data"] if s["type"] == "ZERO_SHOT")
    assert json.loads(exported_zs["source_code"])["config"] == "some-model"

    again = import_ok(client, "export.zip", content, name="Conversational AI copy")["result"]
    assert again["skipped"] == {} and again["heuristics"] == 13, again
    copy = again["project_id"]
    assert client.get(f"{API}/{copy}").json()["name"] == "Conversational AI copy"
    before, after = state(client, pid), state(client, copy)
    assert len(before["manual"]) == 309 and len(before["votes"]) == 12 and len(before["lookup_lists"]) == 12
    assert len(before["weak_supervision"]["exported"]) == 1619 and sum(before["weak_supervision"]["filter_counts"].values())
    for key in before:
        assert after[key] == before[key], key
    assert after["configs"]["zs intent"] == {
        "attribute": "text", "model": "some-model", "min_confidence": 0.4, "excluded_labels": ["401k"],
        "label_descriptions": {},
    }  # fmt: skip


@pytest.mark.integration
def test_extraction_project_built_through_the_api(client: TestClient, project: dict[str, Any], services: Any) -> None:
    services.start("tokenizer")
    pid = project["id"]
    assert client.patch(f"{API}/{pid}", json={"name": "Spans/ünïcode: test?"}).status_code == 200
    ids = seed_records(pid, ["T. Rowe Price (TROW) Dips More Than Broader Markets", "Apple buys a small startup"])
    task = make_task(client, pid, "entities", "INFORMATION_EXTRACTION", "headline", ["ORG", "MOVE"])
    topic = make_task(client, pid, "topic", "MULTICLASS_CLASSIFICATION", None, ["finance", "tech"])
    url = f"{API}/{pid}/records/{{}}/labeling-tasks/{task['id']}/spans"
    for record_id, label, start, end in [(ids[0], "ORG", 0, 3), (ids[0], "MOVE", 6, 7), (ids[1], "ORG", 0, 1)]:
        body = {"label_id": task["by_name"][label], "token_start": start, "token_end": end}
        assert client.post(url.format(record_id), json=body).status_code == 201
    put = client.put(f"{API}/{pid}/records/{ids[1]}/labeling-tasks/{topic['id']}/classification",
                     json={"label_id": topic["by_name"]["tech"]})  # fmt: skip
    assert put.status_code == 200, put.text
    lookup = client.post(f"{API}/{pid}/lookup-lists", json={"name": "companies", "description": "known ones"}).json()
    terms = [{"value": "Apple", "comment": "the firm"}, {"value": "Pear", "blacklisted": True}]
    assert client.post(f"{API}/{pid}/lookup-lists/{lookup['id']}/terms", json={"terms": terms}).status_code == 201
    heuristic = client.post(
        f"{API}/{pid}/heuristics",
        json={"labeling_task_id": task["id"], "name": "precomputed", "type": "PRE_COMPUTED", "description": "spans"},
    ).json()
    posted = client.post(
        f"{API}/{pid}/heuristics/{heuristic['id']}/associations",
        json={"indices": [0, 1], "associations": [[["ORG", 0, 3, 0.75]], [["ORG", 0, 1], ["MOVE", 1, 2, 0.5]]]},
    )
    assert posted.status_code == 200, posted.text
    tags = make_task(client, pid, "tags", "MULTILABEL_CLASSIFICATION", None, ["a", "b"])
    weak = [  # weak-supervision labels (an older writer's rows: moved into each task's current version)
        (ids[0], task, "ORG", 0, 3, 0.91),
        (ids[0], task, "MOVE", 5, 7, 0.62),
        (ids[1], task, "ORG", 0, 1, 0.88),
        (ids[0], topic, "finance", None, None, 0.7),
        (ids[1], topic, "finance", None, None, 0.55),
        (ids[1], tags, "a", None, None, 0.9),
        (ids[1], tags, "b", None, None, 0.85),
    ]
    with session_scope() as session:
        for record_id, owner, label, start, end, confidence in weak:
            session.execute(
                text(
                    "INSERT INTO record_label_association (id, project_id, record_id, labeling_task_id, label_id,"
                    " source_type, return_type, confidence, is_gold_star, is_valid_manual_label, token_start, token_end,"
                    " created_at) VALUES (gen_random_uuid(), :p, :r, :t, :l, 'WEAK_SUPERVISION', :k, :c, false, false,"
                    " :s, :e, now())"
                ),
                {"p": pid, "r": record_id, "t": owner["id"], "l": owner["by_name"][label], "c": confidence, "s": start,
                 "e": end, "k": "RETURN" if start is None else "YIELD"},
            )  # fmt: skip

    response, content, data = download(client, pid)
    assert response.headers["content-disposition"] == 'attachment; filename="Spans_n_code_test.zip"'
    spans = [a for a in data["record_label_associations_data"] if a["return_type"] == "YIELD"]
    assert len(spans) == 9  # 3 manual, 3 votes, 3 weak supervision
    exported_weak = [a for a in data["record_label_associations_data"] if a["source_type"] == "WEAK_SUPERVISION"]
    assert sorted(a["confidence"] for a in exported_weak) == sorted(w[5] for w in weak)
    assert len(data["weak_supervision_task_data"]) == 3
    weak_tokens = {a["id"] for a in exported_weak if a["return_type"] == "YIELD"}
    assert sum(1 for t in data["record_label_association_tokens_data"] if t["record_label_association_id"] in weak_tokens) == 6
    copy = import_ok(client, "spans.zip", content)["result"]
    assert copy["name"] == "Spans/ünïcode: test?" and copy["manual_labels"] == 4 and copy["heuristic_labels"] == 3
    assert copy["weak_supervision_labels"] == 7 and copy["skipped"] == {}, copy
    before, after = state(client, pid), state(client, copy["project_id"])
    assert before["votes"]["precomputed"] == sorted(
        [((0,), "ORG", 0, 3, 0.75), ((1,), "ORG", 0, 1, 1.0), ((1,), "MOVE", 1, 2, 0.5)], key=repr
    )
    assert len(before["manual"]) == 4
    assert before["weak_supervision"]["filter_counts"]["entities/ORG/0.8"] == 2
    assert before["weak_supervision"]["filter_counts"]["tags/b/0.0"] == 1
    assert len(before["weak_supervision"]["exported"]) == 2
    assert ("companies", "companies", "known ones", None, [("Apple", "the firm", False), ("Pear", None, True)]) in before[
        "lookup_lists"
    ]
    for key in before:
        assert after[key] == before[key], key


def test_unknown_project_and_non_members(client: TestClient, project: dict[str, Any]) -> None:
    missing = uuid.uuid4()
    response = client.get(f"{API}/{missing}/snapshot")
    assert response.status_code == 404 and str(missing) in response.json()["detail"]
    assert response.headers["content-type"].startswith("application/problem+json")
    assert client.get(f"{API}/not-a-uuid/snapshot").status_code == 422
    assert client.post("/api/v1/users", json={"email": "eve@example.org", "password": "eve-password"}).status_code == 201
    client.cookies.clear()
    login(client, "eve@example.org", "eve-password")
    response = client.get(f"{API}/{project['id']}/snapshot")
    assert response.status_code == 404 and "not a member" in response.json()["detail"]
    client.cookies.clear()
    assert client.get(f"{API}/{project['id']}/snapshot").status_code == 401


def test_an_empty_project_exports_and_its_snapshot_is_refused_by_name(client: TestClient, project: dict[str, Any]) -> None:
    """A project without attributes exports (its file is well formed); the importer names why it cannot take it."""
    response, content, data = download(client, project["id"])
    assert response.headers["content-disposition"] == 'attachment; filename="test_project.zip"'
    assert data["records_data"] == [] and data["attributes_data"] == []
    response = client.post("/api/v1/projects/import", files={"file": ("empty.zip", content, "application/zip")})
    assert response.status_code == 202, response.text
    job = wait_job(client, response.json()["id"])
    assert job["state"] == "failed" and "the snapshot has no attributes" in job["error"], job
