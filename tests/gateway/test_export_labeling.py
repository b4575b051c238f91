"""Export of this issue's labels: multi-label lists and extraction B-/I-/OUTSIDE arrays, in the reference's names."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shared_model.db import session_scope
from shared_model.jobs import wait_for_job
from shared_model.models import RecordLabelAssociation, ReturnType, SourceType

from .test_labeling import API, classify, make_task, second_user, seed_records

pytestmark = pytest.mark.integration

TEXTS = ["T. Rowe Price (TROW) Dips More Than Broader Markets", "Apple rises", "nothing here"]


def test_export_has_manual_lists_and_token_arrays(services: Any, client: TestClient, project: dict[str, Any]) -> None:
    services.start("tokenizer")
    pid = project["id"]
    ids = seed_records(pid, TEXTS)
    sentiment = make_task(client, pid, "sentiment", "MULTICLASS_CLASSIFICATION", "headline", ["pos", "neg"])
    topics = make_task(client, pid, "topics", "MULTILABEL_CLASSIFICATION", None, ["finance", "tech", "sport"])
    entities = make_task(client, pid, "entities", "INFORMATION_EXTRACTION", "headline", ["STOCK", "MOVE"])

    classify(client, pid, ids[0], sentiment, ["neg"])
    classify(client, pid, ids[0], topics, ["tech", "finance"])
    classify(client, pid, ids[1], topics, ["tech"])
    other = second_user(client, pid)
    classify(client, pid, ids[1], topics, ["sport"], headers=other)  # disagreement: no valid label, nothing exported
    spans = f"{API}/{pid}/records/{ids[0]}/labeling-tasks/{entities['id']}/spans"
    assert (
        client.post(spans, json={"label_id": entities["by_name"]["STOCK"], "token_start": 0, "token_end": 3}).status_code == 201
    )
    assert (
        client.post(spans, json={"label_id": entities["by_name"]["STOCK"], "char_start": 15, "char_end": 19}).status_code == 201
    )
    assert client.post(spans, json={"label_id": entities["by_name"]["MOVE"], "token_start": 6, "token_end": 7}).status_code == 201
    with session_scope() as session:  # a weak-supervision span as the weak supervisor stores it
        session.add(
            RecordLabelAssociation(
                project_id=uuid.UUID(pid),
                record_id=ids[1],
                labeling_task_id=uuid.UUID(entities["id"]),
                label_id=uuid.UUID(entities["by_name"]["STOCK"]),
                source_type=SourceType.WEAK_SUPERVISION,
                return_type=ReturnType.YIELD,
                confidence=0.9,
                token_start=0,
                token_end=1,
            )
        )
    job = client.post(f"{API}/{pid}/tokenize").json()
    assert wait_for_job(uuid.UUID(job["id"]), timeout_s=60).result["tokenized"] == 2  # record 0 was tokenized on demand

    response = client.get(f"{API}/{pid}/export", params={"format": "json"})
    assert response.status_code == 200, response.text
    rows = {row["id"]: row for row in response.json()}
    first, second, third = rows[0], rows[1], rows[2]
    assert first["headline__sentiment__MANUAL"] == "neg"
    assert first["__topics__MANUAL"] == ["finance", "tech"]
    assert second["__topics__MANUAL"] is None and third["__topics__MANUAL"] is None
    assert first["headline__entities__MANUAL"] == [
        "B-STOCK", "I-STOCK", "I-STOCK", "OUTSIDE", "B-STOCK", "OUTSIDE", "B-MOVE", "OUTSIDE", "OUTSIDE", "OUTSIDE", "OUTSIDE",
    ]  # fmt: skip
    assert first["headline__entities__WEAK_SUPERVISION"] == ["OUTSIDE"] * 11  # the task has weak supervision
    assert second["headline__entities__MANUAL"] == ["OUTSIDE", "OUTSIDE"]
    assert second["headline__entities__WEAK_SUPERVISION"] == ["B-STOCK", "OUTSIDE"]
    assert second["headline__entities__WEAK_SUPERVISION__confidence"] == [0.9, 0.0]
    assert set(first) >= {
        "headline__entities__WEAK_SUPERVISION__confidence",
        "__topics__WEAK_SUPERVISION",
        "__topics__WEAK_SUPERVISION__confidence",
    }

    # a second extraction task that weak supervision never labeled: its weak-supervision columns are null
    make_task(client, pid, "places", "INFORMATION_EXTRACTION", "headline", ["CITY"])
    rows = {row["id"]: row for row in client.get(f"{API}/{pid}/export", params={"format": "json"}).json()}
    assert rows[0]["headline__places__MANUAL"] == ["OUTSIDE"] * 11
    assert rows[0]["headline__places__WEAK_SUPERVISION"] is None
    assert rows[0]["headline__places__WEAK_SUPERVISION__confidence"] is None
    assert rows[1]["headline__entities__WEAK_SUPERVISION"] == ["B-STOCK", "OUTSIDE"]

    csv_text = client.get(f"{API}/{pid}/export", params={"format": "csv"}).text
    header = csv_text.splitlines()[0].split(",")
    assert "__topics__MANUAL" in header and "headline__entities__MANUAL" in header
