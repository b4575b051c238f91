"""Active-learning heuristics through the gateway with the real executor (bwrap sandbox, sklearn inside) and the real
weak supervisor (statistics without the training records). Vectors are written to object storage the way the embedder
stores them, so the tests need no model."""
# ruff: noqa: F811 - the gateway's fixtures are imported by name and used as parameters

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from shared_model.db import session_scope
from shared_model.jobs import wait_for_job
from shared_model.models import (
    Attribute,
    Embedding,
    EmbeddingType,
    HeuristicStatistics,
    Job,
    RecordLabelAssociation,
    RunState,
    SourceType,
)
from shared_model.storage import EmbeddingArtifacts, get_storage

from ..gateway.conftest import app_client, client, project  # noqa: F401 - the gateway's fixtures
from .factory import Data, add_records, add_task

# The conversational_ai sample snapshot's active learner, verbatim (its embedding does not exist in our project).
SNAPSHOT_LEARNER = """from sklearn.linear_model import LogisticRegression
# you can find further models here: https://github.com/code-kern-ai/sequence-learn

class ATLClassifier(LearningClassifier):

    def __init__(self):
        self.model = LogisticRegression()

    @params_fit(
        embedding_name = "text-classification-distilbert-base-uncased", # pick this from the options above
        train_test_split = 0.5 # we currently have this fixed, but you'll soon be able to specify this individually!
    )
    def fit(self, embeddings, labels):
        self.model.fit(embeddings, labels)

    @params_inference(
        min_confidence = 0.5,
        label_names = None # you can specify a list to filter the predictions (e.g. ["label-a", "label-b"])
    )
    def predict_proba(self, embeddings):
        return self.model.predict_proba(embeddings)
"""

# the snapshot's learner pointed at the embedding these tests store (a snapshot's own name is never substituted)
LEARNER = SNAPSHOT_LEARNER.replace("distilbert-base-uncased", "all-MiniLM-L6-v2")

N = 40
WORDS = ["alpha", "beta", "gamma", "delta"]


@pytest.fixture(scope="module")
def running(services: Any) -> Iterator[Any]:
    services.start("executor")
    services.start("weak_supervisor")
    yield services


@pytest.fixture()
def data(client: TestClient, project: dict[str, Any], running: Any) -> Iterator[Data]:
    texts = [f"{'buy' if i % 2 else 'read'} {WORDS[i % 4]} now" for i in range(N)]
    data = add_records(uuid.UUID(project["id"]), texts)
    add_task(data, "intent", ["buy", "read", "unused"])
    add_task(data, "spans", ["ITEM"], extraction=True)
    yield data
    with session_scope() as session:
        ids = list(session.scalars(select(Embedding.id).where(Embedding.project_id == data.project_id)))
    for embedding_id in ids:
        EmbeddingArtifacts(get_storage(), embedding_id).delete()


def store_embedding(data: Data, name: str, kind: EmbeddingType) -> uuid.UUID:
    """An embedding as the embedder leaves it: a FINISHED row and one completed chunk (records or tokens)."""
    rng = np.random.default_rng(1)
    with session_scope() as session:
        attribute_id = session.scalar(
            select(Attribute.id).where(Attribute.project_id == data.project_id, Attribute.name == "text")
        )
        row = Embedding(
            project_id=data.project_id,
            attribute_id=attribute_id,
            name=name,
            type=kind,
            state=RunState.FINISHED,
            model="all-MiniLM-L6-v2",
            dimensions=8,
        )
        session.add(row)
        session.flush()
        embedding_id = row.id
    ids = np.asarray(data.record_ids, dtype=np.int64)
    artifacts = EmbeddingArtifacts(get_storage(), embedding_id)
    key = artifacts.chunk_key(1)
    if kind == EmbeddingType.ON_ATTRIBUTE:  # "buy" records (odd positions) around +e0, "read" ones around -e0
        sign = np.where(np.arange(N) % 2 == 1, 1.0, -1.0)[:, None]
        vectors = (np.eye(8)[0] * 3 * sign + rng.normal(0, 0.3, (N, 8))).astype(np.float32)
        get_storage().put_arrays(key, record_ids=ids, vectors=vectors)
    else:  # tokens "<verb> <word> now": the word token (index 1) sits on +e1, the others elsewhere
        per_record = []
        for i in range(N):
            tokens = np.stack([np.eye(8)[2 + i % 2] * 3, np.eye(8)[1] * 3, np.eye(8)[4] * 3]) + rng.normal(0, 0.2, (3, 8))
            per_record.append(tokens)
        get_storage().put_arrays(
            key, record_ids=ids, vectors=np.vstack(per_record).astype(np.float32), token_counts=np.full(N, 3, dtype=np.int64)
        )
    artifacts.mark_done(key)
    return embedding_id


def label_manually(data: Data, task: str, positions: list[int], spans: bool = False) -> None:
    with session_scope() as session:
        for i in positions:
            label = "ITEM" if spans else ("buy" if i % 2 else "read")
            session.add(
                RecordLabelAssociation(
                    project_id=data.project_id,
                    record_id=data.record_ids[i],
                    labeling_task_id=data.tasks[task],
                    label_id=data.labels[task][label],
                    source_type=SourceType.MANUAL,
                    is_valid_manual_label=True,
                    token_start=1 if spans else None,
                    token_end=2 if spans else None,
                )
            )


def create(client: TestClient, data: Data, name: str, code: str, task: str = "intent") -> dict[str, Any]:
    response = client.post(
        f"/api/v1/projects/{data.project_id}/heuristics",
        json={"labeling_task_id": str(data.tasks[task]), "name": name, "source_code": code, "type": "ACTIVE_LEARNING"},
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def run(client: TestClient, data: Data, heuristic_id: str) -> dict[str, Any]:
    base = f"/api/v1/projects/{data.project_id}/heuristics/{heuristic_id}"
    response = client.post(f"{base}/runs")
    assert response.status_code == 202, response.text
    wait_for_job(uuid.UUID(response.json()["job"]["id"]), timeout_s=180)
    result: dict[str, Any] = client.get(f"{base}/runs/{response.json()['runs'][0]['id']}").json()
    return result


def predictions(heuristic_id: str) -> dict[int, tuple[uuid.UUID, float, int | None, int | None]]:
    with session_scope() as session:
        rows = session.execute(
            text(
                "SELECT record_id, label_id, confidence, token_start, token_end FROM heuristic_association WHERE source_id = :s"
            ),
            {"s": uuid.UUID(heuristic_id)},
        ).all()
    return {int(r[0]): (r[1], float(r[2]), r[3], r[4]) for r in rows}


def statistics_after(run_id: str, source_id: str) -> dict[uuid.UUID, HeuristicStatistics]:
    """Wait for the statistics job the run enqueued (the weak supervisor's) and read its rows."""
    with session_scope() as session:
        job_id = session.scalar(
            select(Job.id)
            .where(Job.kind == "heuristic_statistics", Job.parameters["source_id"].astext == source_id)
            .order_by(Job.created_at.desc())
            .limit(1)
        )
    assert job_id is not None, f"run {run_id} enqueued no statistics"
    assert wait_for_job(job_id, timeout_s=120).state == "done"
    with session_scope() as session:
        rows = session.scalars(select(HeuristicStatistics).where(HeuristicStatistics.source_id == uuid.UUID(source_id)))
        out = {row.label_id: row for row in rows}
        session.expunge_all()
        return out


def test_snapshot_learner_runs_unchanged_and_statistics_skip_training_records(client: TestClient, data: Data) -> None:
    store_embedding(data, "text-classification-all-MiniLM-L6-v2", EmbeddingType.ON_ATTRIBUTE)
    labeled = list(range(20))
    label_manually(data, "intent", labeled)
    heuristic = create(client, data, "DistilbertLR", SNAPSHOT_LEARNER)
    missing = run(client, data, heuristic["id"])  # the snapshot's embedding is not here: no silent substitute
    assert missing["state"] == "FAILED"
    assert "embedding 'text-classification-distilbert-base-uncased' does not exist in this project" in missing["error"]
    assert "'text-classification-all-MiniLM-L6-v2' (ON_ATTRIBUTE, FINISHED)" in missing["error"]
    assert predictions(heuristic["id"]) == {}

    patched = client.patch(f"/api/v1/projects/{data.project_id}/heuristics/{heuristic['id']}", json={"source_code": LEARNER})
    assert patched.status_code == 200, patched.text  # choosing another embedding is the user's explicit act
    result = run(client, data, heuristic["id"])
    assert result["state"] == "FINISHED", (result["error"], result["logs"])
    details = result["details"]
    assert details["embedding"] == "text-classification-all-MiniLM-L6-v2"
    training = set(details["training_record_ids"])
    assert len(training) == 10 and training <= {data.record_ids[i] for i in labeled}  # train_test_split = 0.5

    found = predictions(heuristic["id"])
    expected = {data.record_ids[i]: data.labels["intent"]["buy" if i % 2 else "read"] for i in range(N)}
    assert len(found) >= N - 2
    assert all(label == expected[r] and 0.5 < confidence <= 1.0 for r, (label, confidence, _, _) in found.items())

    stats = statistics_after(result["id"], heuristic["id"])
    judged = sum(s.true_positives + s.false_positives for s in stats.values())
    unseen_labeled = {data.record_ids[i] for i in labeled} - training
    assert judged == len(unseen_labeled & set(found))  # only the 10 held-out labeled records count
    assert sum(s.record_coverage for s in stats.values()) == len(found)  # coverage keeps every record

    # the same learner with the whole split trains on every labeled record: nothing is left to judge it on
    client.patch(
        f"/api/v1/projects/{data.project_id}/heuristics/{heuristic['id']}",
        json={
            "source_code": LEARNER.replace("train_test_split = 0.5", "train_test_split = 1.0").replace(
                "min_confidence = 0.5", "min_confidence = 0.99"
            )
        },
    )
    again = run(client, data, heuristic["id"])
    assert again["state"] == "FINISHED" and len(again["details"]["training_record_ids"]) == 20
    stats = statistics_after(again["id"], heuristic["id"])
    assert sum(s.true_positives + s.false_positives for s in stats.values()) == 0
    assert all(confidence > 0.99 for _, confidence, _, _ in predictions(heuristic["id"]).values())


def test_default_extractor_learns_spans_on_token_vectors(client: TestClient, data: Data) -> None:
    store_embedding(data, "text-extraction-all-MiniLM-L6-v2", EmbeddingType.ON_TOKEN)
    label_manually(data, "spans", list(range(12)), spans=True)
    created = client.post(
        f"/api/v1/projects/{data.project_id}/heuristics",
        json={"labeling_task_id": str(data.tasks["spans"]), "name": "spans learner", "type": "ACTIVE_LEARNING"},
    )
    assert created.status_code == 201, created.text
    heuristic = created.json()
    assert "class ATLExtractor(LearningExtractor)" in heuristic["source_code"]
    assert 'embedding_name="text-extraction-all-MiniLM-L6-v2"' in heuristic["source_code"]
    sample = client.post(f"/api/v1/projects/{data.project_id}/heuristics/{heuristic['id']}/sample", json={})
    assert sample.status_code == 422 and "only labeling functions run on a sample" in sample.json()["detail"]

    result = run(client, data, heuristic["id"])
    assert result["state"] == "FINISHED", (result["error"], result["logs"])
    assert len(result["details"]["training_record_ids"]) == 6
    found = predictions(heuristic["id"])
    assert len(found) >= N - 2
    assert all((start, end) == (1, 2) and confidence > 0.8 for _, confidence, start, end in found.values())
    stats = statistics_after(result["id"], heuristic["id"])  # token level, on the 6 held-out labeled records only
    held_out = {data.record_ids[i] for i in range(12)} - set(result["details"]["training_record_ids"])
    assert sum(s.true_positives for s in stats.values()) == len(held_out & set(found))
    assert sum(s.true_positives + s.false_negatives for s in stats.values()) == len(held_out) == 6


BROKEN = {
    "no class": ("def lf(record):\n    return None\n", "must define a class ATLClassifier"),
    "bad split": (LEARNER.replace("train_test_split = 0.5", "train_test_split = 2"), "train_test_split must be"),
    "raises": (LEARNER.replace("self.model.fit(embeddings, labels)", "raise ValueError('boom')"), "ValueError: boom"),
    "extractor on a classification task": (
        LEARNER.replace("ATLClassifier(LearningClassifier)", "ATLExtractor(LearningExtractor)"),
        "a classification task needs a class ATLClassifier",
    ),
    "unknown embedding": (
        SNAPSHOT_LEARNER.replace("text-classification-distilbert-base-uncased", "headline-classification-x"),
        "does not exist in this project; its embeddings: 'text-classification-all-MiniLM-L6-v2' (ON_ATTRIBUTE, FINISHED)",
    ),
}


def test_broken_learners_fail_with_a_reason_and_keep_previous_results(client: TestClient, data: Data) -> None:
    store_embedding(data, "text-classification-all-MiniLM-L6-v2", EmbeddingType.ON_ATTRIBUTE)
    label_manually(data, "intent", [0, 2, 4])  # one label only
    one_label = create(client, data, "one label", LEARNER)
    result = run(client, data, one_label["id"])
    assert result["state"] == "FAILED" and "at least two labels" in result["error"]
    # 20 labeled records, half of each label: the 50 % training draw holds both labels (all-one-label odds ~1e-5).
    label_manually(data, "intent", [1, 3, 5, *range(6, 20)])
    response = client.post(
        f"/api/v1/projects/{data.project_id}/heuristics/runs",
        json={"heuristic_ids": [create(client, data, name, code)["id"] for name, (code, _) in BROKEN.items()]},
    )
    assert response.status_code == 202
    wait_for_job(uuid.UUID(response.json()["job"]["id"]), timeout_s=180)
    for started in response.json()["runs"]:
        heuristic = client.get(f"/api/v1/projects/{data.project_id}/heuristics/{started['source_id']}").json()
        assert heuristic["last_run"]["state"] == "FAILED"
        assert BROKEN[heuristic["name"]][1] in heuristic["last_run"]["error"], heuristic["last_run"]["error"]
        assert heuristic["association_count"] == 0
