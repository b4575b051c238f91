"""Embeddings, similarity search, outlier slices and zero-shot through the gateway, with the real embedder and
neural search services (Qdrant's engine in-process, local object storage shared through REFINERY_DATA_DIR).

One module (over 400 lines): its tests share one module-scoped embedder and neural search (``running``), the
expensive part."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select, text

from shared_model.db import session_scope
from shared_model.heuristic_results import ASSOCIATIONS
from shared_model.jobs import enqueue, wait_for_job
from shared_model.models import (
    Attribute,
    DataSlice,
    DataSliceRecord,
    DataType,
    Job,
    Label,
    LabelingTask,
    Record,
    RecordLabelAssociation,
    SliceType,
    SourceType,
    TaskTarget,
    TaskType,
)
from shared_model.service import service_headers
from shared_model.settings import get_settings
from shared_model.storage import EmbeddingArtifacts, get_storage

SPORTS = [
    "The striker scored a late goal",
    "The team won the championship final",
    "A tennis player served an ace",
    "The coach praised the defenders",
    "Fans cheered the marathon runners",
    "The goalkeeper saved a penalty kick",
]
FINANCE = [
    "Shares fell after the earnings report",
    "The central bank raised interest rates",
    "Investors sold bonds",
    "The stock market rallied on Friday",
    "Quarterly revenue beat analyst forecasts",
    "The company issued new debt",
]


@pytest.fixture(scope="module")
def running(services: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """neural_search then embedder (so the embedder knows neural search's URL), sharing one data folder."""
    data_dir = tmp_path_factory.mktemp("embedding-data")
    previous = os.environ.get("REFINERY_DATA_DIR")
    os.environ["REFINERY_DATA_DIR"] = str(data_dir)
    get_settings.cache_clear()
    get_storage.cache_clear()
    for name in ("embedder", "neural_search"):  # one started by an earlier module has another data folder
        services.stop(name)
    services.start("neural_search")
    services.start("embedder")
    yield services
    for name in ("embedder", "neural_search"):  # later modules get services of the default data folder again
        services.stop(name)
    if previous is None:
        os.environ.pop("REFINERY_DATA_DIR", None)
    else:
        os.environ["REFINERY_DATA_DIR"] = previous
    get_settings.cache_clear()
    get_storage.cache_clear()


def seed(project_id: str, n_per_topic: int = 60) -> dict[str, Any]:
    """Records on two topics (text, category, topic), a classification task with labels, some manual labels."""
    pid = uuid.UUID(project_id)
    rng = np.random.default_rng(0)
    with session_scope() as session:
        text = Attribute(project_id=pid, name="headline", data_type=DataType.TEXT, relative_position=0)
        category = Attribute(project_id=pid, name="category", data_type=DataType.CATEGORY, relative_position=1)
        session.add_all([text, category])
        rows = []
        for i in range(n_per_topic):
            for topic, texts in (("sports", SPORTS), ("finance", FINANCE)):
                sentence = f"{texts[i % len(texts)]} ({['monday', 'tuesday', 'in spring', 'again', 'today'][i % 5]})"
                rows.append(Record(project_id=pid, data={"headline": sentence, "category": topic, "n": int(rng.integers(9))}))
        session.add_all(rows)
        task = LabelingTask(
            project_id=pid,
            name="topic",
            attribute_id=None,
            task_target=TaskTarget.ON_WHOLE_RECORD,
            task_type=TaskType.MULTICLASS_CLASSIFICATION,
        )
        session.add(task)
        session.flush()
        labels = {name: Label(project_id=pid, labeling_task_id=task.id, name=name) for name in ("sports", "finance")}
        session.add_all(labels.values())
        session.flush()
        labeled = [r for r in rows if r.data["category"] == "sports"][:5]
        for record in labeled:
            session.add(
                RecordLabelAssociation(
                    project_id=pid,
                    record_id=record.id,
                    labeling_task_id=task.id,
                    label_id=labels["sports"].id,
                    source_type=SourceType.MANUAL,
                    is_valid_manual_label=True,
                )
            )
        return {
            "task_id": str(task.id),
            "record_ids": [r.id for r in rows],
            "topics": {r.id: r.data["category"] for r in rows},
            "labeled": {r.id for r in labeled},
            "labels": {k: str(v.id) for k, v in labels.items()},
        }


def create_and_wait(client: TestClient, project_id: str, **body: Any) -> dict[str, Any]:
    response = client.post(f"/api/v1/projects/{project_id}/embeddings", json=body)
    assert response.status_code == 202, response.text
    job = wait_for_job(uuid.UUID(response.json()["job"]["id"]), timeout_s=240)
    assert job.state == "done", (job.error, job.message)
    embedding = client.get(f"/api/v1/projects/{project_id}/embeddings/{response.json()['embedding']['id']}").json()
    assert embedding["state"] == "FINISHED"
    return {**embedding, "job_result": job.result}


def test_embedding_search_outliers_refresh_delete(running: Any, client: TestClient, project: dict[str, Any]) -> None:
    pid = project["id"]
    data = seed(pid)
    emb = create_and_wait(client, pid, attribute="headline", filter_attributes=["category"])
    assert emb["name"] == "headline-classification-all-MiniLM-L6-v2" and emb["dimensions"] == 384
    assert emb["platform"] == "sentence-transformers" and 0 < emb["similarity_threshold"] < 1
    assert emb["job_result"]["embedded"] == 120 and emb["job_result"]["runner"] == "local"  # no Ray configured
    base = f"/api/v1/projects/{pid}/embeddings/{emb['id']}"

    sports_record = next(r for r in data["record_ids"] if data["topics"][r] == "sports")
    found = client.post(f"{base}/similar", json={"record_id": sports_record, "limit": 10, "use_threshold": False})
    assert found.status_code == 200, found.text
    results = found.json()["results"]
    assert len(results) == 10 and sports_record not in [r["record_id"] for r in results]
    assert all(data["topics"][r["record_id"]] == "sports" for r in results)
    assert [r["score"] for r in results] == sorted((r["score"] for r in results), reverse=True)
    assert results[0]["data"]["category"] == "sports"

    filtered = client.post(
        f"{base}/similar",
        json={
            "record_id": sports_record,
            "limit": 5,
            "use_threshold": False,
            "filters": [{"attribute": "category", "value": "finance"}],
        },
    ).json()
    assert len(filtered["results"]) == 5 and all(r["data"]["category"] == "finance" for r in filtered["results"])
    thresholded = client.post(f"{base}/similar", json={"record_id": sports_record, "limit": 200}).json()
    assert thresholded["threshold"] == pytest.approx(emb["similarity_threshold"])
    assert all(r["score"] >= thresholded["threshold"] - 1e-6 for r in thresholded["results"])

    by_text = client.post(f"{base}/similar", json={"text": "bond yields and inflation", "limit": 5}).json()
    assert all(data["topics"][r["record_id"]] == "finance" for r in by_text["results"])

    sports_label = data["labels"]["sports"]
    by_label = {
        "record_id": sports_record,
        "limit": 50,
        "use_threshold": False,
        "filters": [{"attribute": "labels", "value": sports_label}],
    }
    labeled = client.post(f"{base}/similar", json=by_label).json()["results"]
    assert {r["record_id"] for r in labeled} == data["labeled"] - {sports_record}
    newly = next(r for r in data["record_ids"] if data["topics"][r] == "sports" and r not in data["labeled"] | {sports_record})
    with session_scope() as session:  # labeled after indexing: the filter reads the labels as they are now
        session.add(
            RecordLabelAssociation(
                project_id=pid,
                record_id=newly,
                labeling_task_id=data["task_id"],
                label_id=sports_label,
                source_type=SourceType.MANUAL,
                is_valid_manual_label=True,
            )
        )
    relabeled = client.post(f"{base}/similar", json=by_label).json()["results"]
    assert newly in {r["record_id"] for r in relabeled}
    with session_scope() as session:  # back to the seeded labels for the outlier checks below
        session.execute(delete(RecordLabelAssociation).where(RecordLabelAssociation.record_id == newly))
    assert newly not in {r["record_id"] for r in client.post(f"{base}/similar", json=by_label).json()["results"]}
    not_a_label = {**by_label, "filters": [{"attribute": "labels", "value": "sports"}]}
    assert client.post(f"{base}/similar", json=not_a_label).status_code == 400

    bad = client.post(f"{base}/similar", json={"record_id": sports_record, "filters": [{"attribute": "n", "value": 1}]})
    assert bad.status_code == 400 and "cannot filter on 'n'" in bad.json()["detail"]
    assert client.post(f"{base}/similar", json={"limit": 5}).status_code == 422
    assert client.post(f"{base}/similar", json={"record_id": 10**12}).status_code == 404

    outliers = client.post(f"{base}/outliers", json={})
    assert outliers.status_code == 200, outliers.text
    body = outliers.json()
    assert body["basis"] == "nearest labeled record" and body["candidates"] == 115
    assert len(body["outliers"]) == 6  # 5 % of 115 unlabeled records
    assert not {o["record_id"] for o in body["outliers"]} & data["labeled"]
    with session_scope() as session:
        data_slice = session.get(DataSlice, uuid.UUID(body["data_slice_id"]))
        assert data_slice is not None and data_slice.type == SliceType.STATIC_OUTLIER
        scores = dict(
            session.execute(
                select(DataSliceRecord.record_id, DataSliceRecord.outlier_score).where(
                    DataSliceRecord.data_slice_id == data_slice.id
                )
            )
            .tuples()
            .all()
        )
    assert scores == {o["record_id"]: pytest.approx(o["score"]) for o in body["outliers"]}

    with session_scope() as session:  # incremental: only new records are embedded
        session.add_all(
            Record(project_id=uuid.UUID(pid), data={"headline": f"Bond market update {i}", "category": "finance"})
            for i in range(7)
        )
    job = client.post(f"{base}/refresh").json()
    done = wait_for_job(uuid.UUID(job["id"]), timeout_s=120)
    assert done.state == "done" and done.result["embedded"] == 7 and done.result["records"] == 127
    ids, _ = EmbeddingArtifacts(get_storage(), emb["id"]).load_vectors()
    assert len(ids) == 127 == len(set(ids.tolist()))

    assert client.delete(base).status_code == 204
    assert get_storage().list(f"embeddings/{emb['id']}/") == []
    assert client.get(base).status_code == 404


def test_resume_skips_completed_chunks(running: Any, client: TestClient, project: dict[str, Any]) -> None:
    pid = project["id"]
    seed(pid, n_per_topic=50)
    emb = create_and_wait(client, pid, attribute="headline", model="tf-idf", pca_dimensions=16)
    assert emb["dimensions"] == 16 and emb["platform"] == "python"
    storage = get_storage()
    artifacts = EmbeddingArtifacts(storage, emb["id"])
    # Re-run in chunks of 30 after dropping everything, then "crash" by removing the last two done markers.
    artifacts.delete()
    with session_scope() as session:
        job = enqueue(
            session,
            kind="embed",
            owner_service="embedder",
            project_id=uuid.UUID(pid),
            parameters={"embedding_id": emb["id"], "chunk_records": 30},
        )
        job_id = job.id
    assert wait_for_job(job_id, timeout_s=120).result["embedded"] == 100
    chunks = artifacts.done_chunks()
    assert len(chunks) == 4
    for key in chunks[-2:]:
        storage.delete(key[:-4] + ".done")
    with session_scope() as session:
        job_id = enqueue(
            session,
            kind="embed",
            owner_service="embedder",
            project_id=uuid.UUID(pid),
            parameters={"embedding_id": emb["id"], "chunk_records": 30},
        ).id
    resumed = wait_for_job(job_id, timeout_s=120)
    assert resumed.state == "done" and resumed.result["embedded"] == 40  # 100 − 2 × 30 already done
    ids, vectors = artifacts.load_vectors()
    assert sorted(ids.tolist()) == sorted(set(ids.tolist())) and len(ids) == 100 and vectors.shape[1] == 16


def test_token_level_embedding_aligned_to_spacy_tokens(running: Any, client: TestClient, project: dict[str, Any]) -> None:
    pid = project["id"]
    data = seed(pid, n_per_topic=10)
    emb = create_and_wait(client, pid, attribute="headline", type="ON_TOKEN")
    assert emb["name"] == "headline-extraction-all-MiniLM-L6-v2" and emb["dimensions"] == 384
    import spacy

    nlp = spacy.blank("en")
    storage = get_storage()
    with session_scope() as session:
        texts = dict(
            session.execute(select(Record.id, Record.data["headline"].astext).where(Record.id.in_(data["record_ids"])))
            .tuples()
            .all()
        )
    seen = 0
    for key in EmbeddingArtifacts(storage, emb["id"]).done_chunks():
        arrays = storage.get_arrays(key)
        for record_id, count in zip(arrays["record_ids"], arrays["token_counts"], strict=True):
            assert count == len(nlp.make_doc(texts[int(record_id)]))
            seen += 1
        assert arrays["vectors"].shape == (int(arrays["token_counts"].sum()), 384)
    assert seen == 20
    similar = client.post(f"/api/v1/projects/{pid}/embeddings/{emb['id']}/similar", json={"record_id": data["record_ids"][0]})
    assert similar.status_code == 409 and "token-level" in similar.json()["detail"]


def test_bad_embedding_requests(running: Any, client: TestClient, project: dict[str, Any]) -> None:
    pid = project["id"]
    seed(pid, n_per_topic=3)
    url = f"/api/v1/projects/{pid}/embeddings"
    wrong_type = client.post(url, json={"attribute": "category"})
    assert wrong_type.status_code == 400 and "only TEXT attributes" in wrong_type.json()["detail"]
    assert client.post(url, json={"attribute": "nope"}).status_code == 404
    unknown_filter = client.post(url, json={"attribute": "headline", "filter_attributes": ["nope"]})
    assert unknown_filter.status_code == 400 and "nope" in unknown_filter.json()["detail"]
    unavailable = client.post(url, json={"attribute": "headline", "model": "someone/not-installed"})
    assert unavailable.status_code == 202
    failed = wait_for_job(uuid.UUID(unavailable.json()["job"]["id"]), timeout_s=60)
    assert failed.state == "failed" and "not available offline" in (failed.error or "")
    assert client.get(f"{url}/{unavailable.json()['embedding']['id']}").json()["state"] == "FAILED"
    duplicate = client.post(url, json={"attribute": "headline", "model": "someone/not-installed"})
    assert duplicate.status_code == 409
    assert client.get("/api/v1/embedding-models").json()["default"] == "all-MiniLM-L6-v2"


def zero_shot_votes(source_id: uuid.UUID) -> list[tuple[int, str, float]]:
    """(record id, label name, confidence) of a heuristic's stored votes."""
    with session_scope() as session:
        rows = session.execute(
            text(
                f"SELECT v.record_id, l.name, v.confidence FROM {ASSOCIATIONS} v JOIN label l ON l.id = v.label_id"
                " WHERE v.source_id = :s"
            ),
            {"s": source_id},
        ).all()
    return [(int(r), str(name), float(c)) for r, name, c in rows]


def test_zero_shot_playground_and_run(running: Any, client: TestClient, project: dict[str, Any]) -> None:
    pid = project["id"]
    data = seed(pid, n_per_topic=20)
    base = f"/api/v1/projects/{pid}/zero-shot"
    play = client.post(
        f"{base}/playground",
        json={"text": "The midfielder scored a stunning goal", "labeling_task_id": data["task_id"], "attribute": "headline"},
    )
    assert play.status_code == 200, play.text
    body = play.json()
    assert body["prediction"] == "sports" and body["min_confidence"] == 0.7
    assert sum(label["confidence"] for label in body["labels"]) == pytest.approx(1.0)
    bad = client.post(
        f"{base}/playground",
        json={"text": "x", "labeling_task_id": data["task_id"], "attribute": "headline", "excluded_labels": ["sports"]},
    )
    assert bad.status_code == 400 and "at least two labels" in bad.json()["detail"]
    no_text = client.post(f"{base}/heuristics", json={"labeling_task_id": data["task_id"], "name": "zs"})
    assert no_text.status_code == 400 and "text attribute" in no_text.json()["detail"]

    created = client.post(
        f"{base}/heuristics",
        json={
            "labeling_task_id": data["task_id"],
            "name": "zero shot topic",
            "attribute": "headline",
            "label_descriptions": {"finance": "money, markets, banks and companies", "sports": "sports, games and athletes"},
        },
    )
    assert created.status_code == 201, created.text
    assert created.json()["min_confidence"] == 0.7
    run = client.post(f"{base}/heuristics/{created.json()['id']}/runs")
    assert run.status_code == 202, run.text
    job = wait_for_job(uuid.UUID(run.json()["job"]["id"]), timeout_s=120)
    assert job.state == "done", job.error
    source_id = uuid.UUID(created.json()["id"])
    rows = zero_shot_votes(source_id)
    assert len(rows) == job.result["labeled"] >= 20
    assert all(confidence >= 0.7 for _, _, confidence in rows)
    assert len({confidence for _, _, confidence in rows}) > 1  # each vote keeps its own confidence
    accuracy = np.mean([data["topics"][record_id] == name for record_id, name, _ in rows])
    assert accuracy >= 0.9
    runs = client.get(f"/api/v1/projects/{pid}/heuristics/{created.json()['id']}/runs").json()
    assert runs[0]["state"] == "FINISHED"
    with session_scope() as session:  # nothing of it in record_label_association
        assert (
            session.scalar(
                select(func.count()).select_from(RecordLabelAssociation).where(RecordLabelAssociation.source_id == source_id)
            )
            == 0
        )

    with session_scope() as session:  # its statistics are queued for the weak supervisor, as after any heuristic run
        queued = session.scalars(select(Job).where(Job.kind == "heuristic_statistics")).all()
    assert [job.parameters["source_id"] for job in queued] == [created.json()["id"]]

    again = client.post(f"{base}/heuristics/{created.json()['id']}/runs")  # a second run replaces the votes
    assert again.status_code == 202, again.text
    assert wait_for_job(uuid.UUID(again.json()["job"]["id"]), timeout_s=120).state == "done"
    rerun = sorted(zero_shot_votes(source_id))
    assert [vote[:2] for vote in rerun] == [vote[:2] for vote in sorted(rows)]
    assert [vote[2] for vote in rerun] == pytest.approx([vote[2] for vote in sorted(rows)])


def test_project_delete_drops_collections_and_vectors(
    running: Any, client: TestClient, project: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = project["id"]
    seed(pid, n_per_topic=6)
    emb = create_and_wait(client, pid, attribute="headline", model="bag-of-words")
    assert get_storage().list(f"embeddings/{emb['id']}/")

    search_url = get_settings().service_url("neural_search")
    monkeypatch.setenv("REFINERY_NEURAL_SEARCH_URL", "http://127.0.0.1:9")  # nothing listens there
    get_settings.cache_clear()
    job = client.delete(f"/api/v1/projects/{pid}").json()
    failed = wait_for_job(uuid.UUID(job["id"]), timeout_s=60)
    assert failed.state == "failed" and "the project is kept" in (failed.error or ""), failed.error
    assert client.get(f"/api/v1/projects/{pid}").status_code == 200  # visible again, nothing deleted
    assert get_storage().list(f"embeddings/{emb['id']}/")

    monkeypatch.setenv("REFINERY_NEURAL_SEARCH_URL", search_url)
    get_settings.cache_clear()
    job = client.delete(f"/api/v1/projects/{pid}").json()
    done = wait_for_job(uuid.UUID(job["id"]), timeout_s=60)
    assert done.state == "done" and done.result["deleted_records"] == 12, done.error
    assert get_storage().list(f"embeddings/{emb['id']}/") == []
    import httpx  # noqa: PLC0415

    status = httpx.get(f"{search_url}/embeddings/{emb['id']}", headers=service_headers())
    assert status.status_code == 404, status.text
