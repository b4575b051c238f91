"""Snapshot import: the original refinery's sample project exports become new projects, all or nothing.

One module (over 400 lines): each test reads a whole sample export; the long checks of the first one are the
specification of the format's mapping, kept beside the smaller cases that reuse its helpers."""

from __future__ import annotations

import io
import json
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from shared_model import manual_vs_weak
from shared_model.db import session_scope
from shared_model.heuristic_results import ASSOCIATIONS
from shared_model.models import (
    Job,
    Label,
    LabelingTask,
    Project,
    ProjectMember,
    Record,
    RecordLabelAssociation,
    SourceType,
)

from ..shared_data import SAMPLES, require
from .test_ws_counts_metrics import _check as _check_counts
from .upload_helpers import wait_job


@pytest.fixture(autouse=True)
def _tokenizer(services: Any) -> None:
    """The import asks the tokenizer service whether it has the snapshot's tokenizer (a sample's pipeline package)."""
    services.start("tokenizer")


def sample(name: str) -> tuple[bytes, dict[str, Any]]:
    """The sample's zip bytes and its parsed JSON."""
    raw = require(SAMPLES / f"{name}.zip").read_bytes()
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        data = json.loads(archive.read(archive.namelist()[0]))
    return raw, data


def post(client: TestClient, filename: str, content: bytes, **form: str) -> Any:
    return client.post("/api/v1/projects/import", files={"file": (filename, content, "application/zip")}, data=form)


def import_ok(client: TestClient, filename: str, content: bytes, **form: str) -> dict[str, Any]:
    response = post(client, filename, content, **form)
    assert response.status_code == 202, response.text
    assert response.json()["kind"] == "snapshot_import" and response.json()["owner_service"] == "gateway"
    job = wait_job(client, response.json()["id"])
    assert job["state"] == "done", job
    return job


def project_count() -> int:
    with session_scope() as session:
        return int(session.scalar(select(func.count()).select_from(Project)) or 0)


def test_conversational_ai(client: TestClient) -> None:
    raw, data = sample("conversational_ai")
    job = import_ok(client, "conversational_ai.zip", raw)
    result = job["result"]
    pid = result["project_id"]
    assert job["project_id"] == pid
    assert result["records"] == 1800 and result["attributes"] == 2
    assert result["labeling_tasks"] == 2 and result["labels"] == 23
    assert result["lookup_lists"] == 12 and result["terms"] == len(
        {(t["knowledge_base_id"], t["value"]) for t in data["terms_data"]}
    )
    assert result["heuristics"] == 12  # 11 labeling functions and the active learner (its code kept)
    kinds = Counter((a["source_type"], a["return_type"]) for a in data["record_label_associations_data"])
    assert result["manual_labels"] == kinds[("MANUAL", "RETURN")] + kinds[("MANUAL", "YIELD")] == 309
    assert result["heuristic_labels"] == kinds[("INFORMATION_SOURCE", "RETURN")]
    # weak-supervision labels: the current version of the task, each with its confidence (migration 0023's tables)
    assert result["weak_supervision_labels"] == kinds[("WEAK_SUPERVISION", "RETURN")] == 1619
    assert not any("weak_supervision_labels" in key for key in result["skipped"])
    assert "weak_supervision_task_data" not in result["skipped"]  # the runs named by the labels: one version per task
    assert "embeddings_data" in result["skipped"] and "data_slice_data" in result["skipped"]
    assert result["tokenizer"] == "en"
    assert any("DistilbertLR" in note and "text-classification-distilbert-base-uncased" in note for note in result["notes"])

    project = client.get(f"/api/v1/projects/{pid}").json()
    assert project["name"] == "Conversational AI" and project["description"] == "Detecting intents from chat lines"
    assert project["record_count"] == 1800
    assert any(p["id"] == pid for p in client.get("/api/v1/projects").json())
    me = client.get("/api/v1/auth/me").json()
    assert [m["id"] for m in client.get(f"/api/v1/projects/{pid}/members").json()] == [me["id"]]
    attributes = client.get(f"/api/v1/projects/{pid}/attributes").json()
    assert [(a["name"], a["data_type"], a["is_primary_key"]) for a in attributes] == [
        ("running_id", "INTEGER", True),
        ("text", "TEXT", False),
    ]

    tasks = {t["name"]: t for t in client.get(f"/api/v1/projects/{pid}/labeling-tasks").json()}
    names = {t["id"]: name for name, t in tasks.items()}
    label_names = {label["id"]: label["name"] for t in tasks.values() for label in t["labels"]}
    assert tasks["intent"]["task_type"] == "MULTICLASS_CLASSIFICATION"
    assert tasks["intent_indicator"]["task_type"] == "INFORMATION_EXTRACTION"
    assert tasks["intent_indicator"]["attribute_id"] == next(a["id"] for a in attributes if a["name"] == "text")
    intent_labels = {label["name"]: label for label in tasks["intent"]["labels"]}
    assert len(intent_labels) == 11 and intent_labels["401k"]["color"] == "red" and intent_labels["401k"]["hotkey"] == "q"

    lists = {item["name"]: item for item in client.get(f"/api/v1/projects/{pid}/lookup-lists").json()}
    assert lists["account blocked"]["python_name"] == "account_blocked" and "_401k" in lists
    terms = client.get(f"/api/v1/projects/{pid}/lookup-lists/{lists['new card']['id']}/terms").json()
    new_card_kb = next(k["id"] for k in data["knowledge_bases_data"] if k["name"] == "new card")
    assert sorted(t["value"] for t in terms) == sorted(
        t["value"] for t in data["terms_data"] if t["knowledge_base_id"] == new_card_kb
    )

    heuristics = {h["name"]: h for h in client.get(f"/api/v1/projects/{pid}/heuristics").json()}
    originals = {s["name"]: s for s in data["information_sources_data"]}
    assert set(heuristics) == set(originals)
    for name, original in originals.items():
        assert heuristics[name]["source_code"] == original["source_code"]
        assert heuristics[name]["type"] == original["type"]
        assert heuristics[name]["labeling_task_id"] == tasks["intent"]["id"]

    # spot checks: by primary key (running_id), compare labels with the snapshot's
    records = {r["id"]: r["data"] for r in data["records_data"]}
    labels = {label["id"]: label["name"] for label in data["labeling_task_labels_data"]}
    tokens = {t["record_label_association_id"]: t["token_index"] for t in data["record_label_association_tokens_data"]}
    span = next(a for a in data["record_label_associations_data"] if a["id"] in tokens)
    classified = [
        a for a in data["record_label_associations_data"] if a["source_type"] == "MANUAL" and a["return_type"] == "RETURN"
    ]
    heuristic = next(a for a in data["record_label_associations_data"] if a["source_id"] == originals["lkp_401k"]["id"])
    with session_scope() as session:

        def rows_for(running_id: int, source_type: SourceType) -> list[tuple[str, str, int | None, int | None, bool]]:
            return [
                tuple(row)  # type: ignore[misc]
                for row in session.execute(
                    select(
                        LabelingTask.name,
                        Label.name,
                        RecordLabelAssociation.token_start,
                        RecordLabelAssociation.token_end,
                        RecordLabelAssociation.is_valid_manual_label,
                    )
                    .join(Label, Label.id == RecordLabelAssociation.label_id)
                    .join(LabelingTask, LabelingTask.id == RecordLabelAssociation.labeling_task_id)
                    .join(Record, Record.id == RecordLabelAssociation.record_id)
                    .where(
                        Record.project_id == pid,
                        Record.data["running_id"].as_integer() == running_id,
                        RecordLabelAssociation.source_type == source_type,
                    )
                )
            ]

        got = rows_for(records[span["record_id"]]["running_id"], SourceType.MANUAL)
        index = tokens[span["id"]]
        assert ("intent_indicator", labels[span["labeling_task_label_id"]], index, index + 1, True) in got
        for association in classified[:5]:
            got = rows_for(records[association["record_id"]]["running_id"], SourceType.MANUAL)
            assert ("intent", labels[association["labeling_task_label_id"]], None, None, True) in got
        running_id = records[heuristic["record_id"]]["running_id"]
        record_id = session.scalar(
            select(Record.id).where(Record.project_id == pid, Record.data["running_id"].as_integer() == running_id)
        )
        # heuristics' votes, kept in heuristic_result: all of them, with their confidences
        imported = [a for a in data["record_label_associations_data"] if a["source_type"] == "INFORMATION_SOURCE"]
        stored = session.execute(
            text(f"SELECT count(*), sum(confidence) FROM {ASSOCIATIONS} WHERE project_id = :p"), {"p": pid}
        ).one()
        assert stored[0] == len(imported) == result["heuristic_labels"]
        assert abs(stored[1] - sum(a["confidence"] for a in imported)) < 1e-6
        weak = session.execute(
            text(
                "SELECT (r.data ->> 'running_id')::int, l.name, w.confidence FROM weak_supervision_association w"
                " JOIN record r ON r.id = w.record_id JOIN label l ON l.id = w.label_id WHERE w.project_id = :p"
            ),
            {"p": pid},
        ).all()
        expected_weak = sorted(
            (records[a["record_id"]]["running_id"], labels[a["labeling_task_label_id"]], a["confidence"])
            for a in data["record_label_associations_data"]
            if a["source_type"] == "WEAK_SUPERVISION"
        )
        assert sorted(tuple(row) for row in weak) == expected_weak
    votes = client.get(f"/api/v1/projects/{pid}/records/{record_id}/labels", params={"source_type": "information_source"})
    assert ("intent", "401k", None, None, False, heuristics["lkp_401k"]["id"]) in [
        (names[v["labeling_task_id"]], label_names[v["label_id"]], v["token_start"], v["token_end"], v["is_gold_star"],
         v["source_id"])
        for v in votes.json()
    ]  # fmt: skip
    with session_scope() as session:
        valid = session.scalar(
            select(func.count())
            .select_from(RecordLabelAssociation)
            .where(RecordLabelAssociation.project_id == pid, RecordLabelAssociation.is_valid_manual_label)
        )
        assert valid == 309
        queued = session.scalar(
            select(func.count()).select_from(Job).where(Job.project_id == pid, Job.kind == "tokenize_project")
        )
        assert queued == 1
        task_ids = [str(t) for t in session.scalars(select(LabelingTask.id).where(LabelingTask.project_id == pid))]
    # the job kept the browser's figures of the imported labels, as a weak-supervision run's job does after its switch:
    # each task's differ flags against its imported version, and the classification tasks' confusion matrices
    with session_scope() as session:
        kept = session.execute(
            text(
                "SELECT c.labeling_task_id, c.version_id, d.version_id, t.task_type, m.marks"
                " FROM weak_supervision_current c JOIN labeling_task t ON t.id = c.labeling_task_id"
                " LEFT JOIN weak_supervision_differ_state d ON d.labeling_task_id = c.labeling_task_id"
                " LEFT JOIN metric_cache m ON m.labeling_task_id = c.labeling_task_id AND m.metric = 'confusion-matrix'"
                " WHERE t.project_id = :p"
            ),
            {"p": pid},
        ).all()
        assert kept
        for task_id, version, differ_version, task_type, marks in kept:
            assert differ_version == version
            assert not manual_vs_weak.stale_differ(session, task_id, version)
            if task_type != "INFORMATION_EXTRACTION":
                assert marks == (
                    f"{version}:{manual_vs_weak.version_mark(session, version)}:{manual_vs_weak.manual_mark(session, task_id)}"
                )
    # the imported version's counts (migration 0024's triggers on the import's COPY): every whole-project metric
    # and the project card read from them equal the exact queries over its rows
    fast = _check_counts(client, pid, task_ids)
    assert sum(t["weakly_supervised"] for t in fast["progress"]["tasks"]) > 0


def test_clickbait_json_with_name_and_linked_lists(client: TestClient, tmp_path: Path) -> None:
    raw, data = sample("clickbait_initial")
    job = import_ok(client, "clickbait.json", json.dumps(data).encode(), name="My clickbait")
    result = job["result"]
    pid = result["project_id"]
    assert result["records"] == len(data["records_data"]) == 3000
    assert (result["labeling_tasks"], result["labels"], result["lookup_lists"], result["terms"]) == (2, 4, 2, 0)
    assert result["manual_labels"] == 0 and result["heuristics"] == 0
    assert client.get(f"/api/v1/projects/{pid}").json()["name"] == "My clickbait"
    tasks = {t["name"]: t for t in client.get(f"/api/v1/projects/{pid}/labeling-tasks").json()}
    expression = next(label for label in tasks["indicators"]["labels"] if label["name"] == "clickbait_expression")
    lists = {item["name"]: item for item in client.get(f"/api/v1/projects/{pid}/lookup-lists").json()}
    assert lists["clickbait_expression"]["label_id"] == expression["id"]
    page = client.get(f"/api/v1/projects/{pid}/records", params={"limit": 1}).json()
    assert page["items"][0]["data"] == data["records_data"][0]["data"]


def test_bad_files_are_refused_at_once(client: TestClient) -> None:
    before = project_count()
    response = post(client, "notes.txt", b"hello there")
    assert response.status_code == 415 and "neither a zip archive nor a JSON file" in response.json()["detail"]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.md", "no json here")
    response = post(client, "empty.zip", buffer.getvalue())
    assert response.status_code == 422 and "no .json file" in response.json()["detail"]
    response = post(client, "broken.json", b'{"records_data": [')
    assert response.status_code == 422 and "not valid JSON" in response.json()["detail"]
    response = post(client, "partial.json", json.dumps({"records_data": [], "attributes_data": []}).encode())
    assert response.status_code == 422 and "missing project_details_data" in response.json()["detail"]
    response = client.post("/api/v1/projects/import", data={"name": "x"})
    assert response.status_code == 422
    assert project_count() == before


def test_unknown_label_fails_the_job_and_leaves_no_project(client: TestClient) -> None:
    _, data = sample("conversational_ai")
    data["record_label_associations_data"][-1]["labeling_task_label_id"] = "00000000-0000-0000-0000-000000000000"
    before = project_count()
    response = post(client, "bad.json", json.dumps(data).encode())
    assert response.status_code == 202, response.text
    job = wait_job(client, response.json()["id"])
    assert job["state"] == "failed" and "unknown label 00000000-0000-0000-0000-000000000000" in job["error"], job
    assert job["project_id"] is None
    assert project_count() == before
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Record)) == 0
        assert session.scalar(select(func.count()).select_from(ProjectMember)) == 0


def test_oversized_json_and_bad_names_are_refused_at_once(client: TestClient, monkeypatch: Any) -> None:
    """A small zip must not unpack into gigabytes (the JSON has its own limit); a name with control characters."""
    from gateway.domain.snapshot import reading as snapshot

    raw, _ = sample("clickbait_initial")
    monkeypatch.setattr(snapshot, "MAX_JSON_BYTES", 10_000)
    response = post(client, "clickbait_initial.zip", raw)
    assert response.status_code == 413 and "over the limit of 10000" in response.json()["detail"]
    monkeypatch.undo()
    for name in ("a\x00b", "line\nbreak"):
        response = post(client, "clickbait_initial.zip", raw, name=name)
        assert response.status_code == 422 and "control characters" in response.json()["detail"]


def test_records_that_do_not_fit_their_attributes_fail_the_job(client: TestClient) -> None:
    _, data = sample("clickbait_initial")
    attributes = {a["name"]: a for a in data["attributes_data"]}
    key = next(name for name, a in attributes.items() if a.get("is_primary_key"))
    text = next(name for name, a in attributes.items() if a["data_type"] == "TEXT")
    first = data["records_data"][0]
    cases = [
        ({key: None}, f"has no value for the primary key {key!r}"),
        ({text: 42}, f"{text!r} is int '42', not TEXT"),
        # a NUL is refused at once, naming the row and field (tests/gateway/test_unstorable_text.py)
        ({"extra_col": "x"}, "field 'extra_col' is not an attribute"),
    ]
    before = project_count()
    for change, words in cases:
        broken = json.loads(json.dumps(data))
        broken["records_data"][0]["data"] = {**first["data"], **change}
        response = post(client, "broken.json", json.dumps(broken).encode())
        assert response.status_code == 202, response.text
        job = wait_job(client, response.json()["id"])
        assert job["state"] == "failed" and f"record {first['id']}" in job["error"] and words in job["error"], job
    assert project_count() == before


def test_a_tokenizer_not_available_here_falls_back_with_a_note(client: TestClient, services: Any) -> None:
    services.start("tokenizer")
    _, data = sample("clickbait_initial")
    data["project_details_data"]["tokenizer"] = "klingon"
    job = import_ok(client, "klingon.json", json.dumps(data).encode())
    assert job["result"]["tokenizer"] == "en"
    assert any("tokenizer 'klingon' is not available here" in note for note in job["result"]["notes"]), job["result"]


def test_bad_confidences_nan_uncomputed_attributes_and_duplicate_spans(client: TestClient) -> None:
    _, data = sample("conversational_ai")
    heuristic = next(a for a in data["record_label_associations_data"] if a["source_type"] == "INFORMATION_SOURCE")
    broken = json.loads(json.dumps(data))
    next(a for a in broken["record_label_associations_data"] if a["id"] == heuristic["id"])["confidence"] = 5.0
    response = post(client, "conf.json", json.dumps(broken).encode())
    job = wait_job(client, response.json()["id"])
    assert job["state"] == "failed" and "confidence 5.0, not a number from 0 to 1" in job["error"], job
    response = post(client, "nan.json", json.dumps(data).replace('"confidence": 1.0', '"confidence": NaN', 1).encode())
    assert response.status_code == 422 and "NaN is not a JSON value" in response.json()["detail"]

    # a calculated attribute without values never ran: INITIAL (runnable), not USABLE; a duplicated manual span: once
    changed = json.loads(json.dumps(data))
    changed["attributes_data"].append(
        {
            "id": "calc",
            "name": "calc",
            "data_type": "INTEGER",
            "is_primary_key": False,
            "relative_position": 9,
            "user_created": True,
            "source_code": "def ac(record):\n    return 1\n",
        }  # fmt: skip
    )
    span_ids = {t["record_label_association_id"] for t in changed["record_label_association_tokens_data"]}
    manual_span = next(
        a for a in changed["record_label_associations_data"] if a["id"] in span_ids and a["source_type"] == "MANUAL"
    )
    changed["record_label_associations_data"].append({**manual_span, "id": "copy-of-span"})
    changed["record_label_association_tokens_data"] += [
        {**t, "record_label_association_id": "copy-of-span"}
        for t in changed["record_label_association_tokens_data"]
        if t["record_label_association_id"] == manual_span["id"]
    ]
    result = import_ok(client, "changed.json", json.dumps(changed).encode())["result"]
    assert result["skipped"]["duplicate_manual_labels"] == 1
    baseline = import_ok(client, "same.zip", sample("conversational_ai")[0])["result"]
    assert result["manual_labels"] == baseline["manual_labels"]
    attributes = client.get(f"/api/v1/projects/{result['project_id']}/attributes/calculated").json()
    assert [(a["name"], a["state"]) for a in attributes] == [("calc", "INITIAL")]


def test_heuristic_spans_and_confidences_become_heuristic_results(client: TestClient) -> None:
    _, data = sample("conversational_ai")
    task = next(t for t in data["labeling_tasks_data"] if t["name"] == "intent_indicator")
    original = data["information_sources_data"][0]
    data["information_sources_data"].append({**original, "id": "span-lf", "name": "span_lf", "labeling_task_id": task["id"]})
    tokens = data["record_label_association_tokens_data"]
    span_ids = {t["record_label_association_id"] for t in tokens}
    manual_span = next(a for a in data["record_label_associations_data"] if a["id"] in span_ids)
    vote = {**manual_span, "id": "span-vote", "source_type": "INFORMATION_SOURCE", "source_id": "span-lf", "confidence": 0.25}
    data["record_label_associations_data"].append(vote)
    indexes = sorted(t["token_index"] for t in tokens if t["record_label_association_id"] == manual_span["id"])
    tokens += [{"record_label_association_id": "span-vote", "token_index": i} for i in indexes]

    # a heuristic's vote naming a label of another task than the heuristic's: refused, nothing imported
    before = project_count()
    wrong = json.loads(json.dumps(data))
    next(s for s in wrong["information_sources_data"] if s["id"] == "span-lf")["labeling_task_id"] = original["labeling_task_id"]
    job = wait_job(client, post(client, "wrong.json", json.dumps(wrong).encode()).json()["id"])
    assert job["state"] == "failed", job
    assert "span-vote: its heuristic and its label belong to different labeling tasks" in job["error"]
    assert project_count() == before

    result = import_ok(client, "spans.json", json.dumps(data).encode())["result"]
    pid = result["project_id"]
    heuristic = next(h for h in client.get(f"/api/v1/projects/{pid}/heuristics").json() if h["name"] == "span_lf")
    assert heuristic["association_count"] == 1
    with session_scope() as session:
        running_id = next(r["data"]["running_id"] for r in data["records_data"] if r["id"] == manual_span["record_id"])
        record_id = session.scalar(
            select(Record.id).where(Record.project_id == pid, Record.data["running_id"].as_integer() == running_id)
        )
    labels = client.get(f"/api/v1/projects/{pid}/records/{record_id}/labels").json()
    spans = [(v["source_type"], v["return_type"], v["token_start"], v["token_end"], v["confidence"]) for v in labels
             if v["token_start"] is not None]  # fmt: skip
    assert ("INFORMATION_SOURCE", "YIELD", indexes[0], indexes[-1] + 1, 0.25) in spans
    assert ("MANUAL", "YIELD", indexes[0], indexes[-1] + 1, 1.0) in spans


def test_a_big_snapshot_is_parsed_once_by_the_job(client: TestClient, services: Any, monkeypatch: Any) -> None:
    """Beyond PEEK_BYTES of JSON the request reads only the start (the tokenizer, when the details come first);
    the job parses it, checks it and, when the request could not, the tokenizer."""
    from gateway.domain.snapshot import reading as snapshot

    services.start("tokenizer")
    monkeypatch.setattr(snapshot, "PEEK_BYTES", 2000)
    _, data = sample("clickbait_initial")
    data["project_details_data"]["tokenizer"] = "klingon"
    first = import_ok(client, "details-first.json", json.dumps(data).encode())  # found in the start: noted at once
    details = data.pop("project_details_data")
    last = import_ok(client, "details-last.json", json.dumps({**data, "project_details_data": details}).encode())
    for job in (first, last):
        assert job["result"]["tokenizer"] == "en"
        assert any("tokenizer 'klingon' is not available here" in note for note in job["result"]["notes"]), job["result"]
    before = project_count()
    broken = json.dumps({"project_details_data": details, **data}).encode()[:-50]
    response = post(client, "broken-at-the-end.json", broken)
    assert response.status_code == 202, response.text  # only the job reads that far
    job = wait_job(client, response.json()["id"])
    assert job["state"] == "failed" and "is not valid JSON" in job["error"] and job["project_id"] is None
    assert project_count() == before
    response = post(client, "not-an-object.json", b"[" + b" " * 3000 + b"]")
    assert response.status_code == 422 and "a project snapshot is a JSON object" in response.json()["detail"]


def test_statistics_are_there_when_the_import_ends_and_notes_name_only_models_offered_here(
    client: TestClient, services: Any
) -> None:
    services.start("weak_supervisor")
    services.start("embedder")
    raw, data = sample("conversational_ai")
    job = import_ok(client, "conversational_ai.zip", raw)
    result = job["result"]
    assert result["statistics"] == "computed"
    pid = result["project_id"]
    hits = Counter(
        a["source_id"]
        for a in data["record_label_associations_data"]
        if a["source_type"] == "INFORMATION_SOURCE" and a["return_type"] == "RETURN"
    )
    names = {s["id"]: s["name"] for s in data["information_sources_data"]}
    expected = {names[source]: count for source, count in hits.items()}
    seen: dict[str, int] = {}
    for task in client.get(f"/api/v1/projects/{pid}/labeling-tasks").json():
        # read at once, no waiting: the job computed them before it ended
        rows = client.get(f"/api/v1/projects/{pid}/labeling-tasks/{task['id']}/heuristic-statistics").json()
        for row in rows:
            seen[row["heuristic_name"]] = seen.get(row["heuristic_name"], 0) + row["total_hits"]
            assert row["status"] == ("ok" if row["total_hits"] else "never_run"), row
    assert len(seen) == result["heuristics"] == 12  # every heuristic listed, with or without hits
    assert {name: seen[name] for name in expected} == expected

    # the snapshot's learner names distilbert, which this installation does not offer: the note says so and names
    # the models that are offered, never suggesting one that is not
    (note,) = [n for n in result["notes"] if "DistilbertLR" in n]
    assert "'distilbert-base-uncased' is not available in this installation" in note
    assert "'all-MiniLM-L6-v2'" in note and "embedding_name" in note
