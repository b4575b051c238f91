"""Editing a record's values (PATCH …/records/{id}): review, validation, spans it invalidates, tokens, with the real
tokenizer service."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from shared_model.db import session_scope
from shared_model.models import Attribute, AttributeState, DataType, LabelHistory, Record, RecordTokenized

from .test_labeling import API, make_task, manual_rows, seed_records

pytestmark = pytest.mark.integration

TEXT = "T. Rowe Price (TROW) Dips More Than Broader Markets"
# tokens:  0 T.  1 Rowe  2 Price  3 (  4 TROW  5 )  6 Dips  7 More  8 Than  9 Broader  10 Markets


@pytest.fixture()
def tokenizer(services: Any) -> Any:
    return services.start("tokenizer")


def record_data(record_id: int) -> dict[str, Any]:
    with session_scope() as session:
        record = session.get(Record, record_id)
        assert record is not None
        return dict(record.data)


def spans_setup(client: TestClient, pid: str) -> tuple[list[int], dict[str, Any]]:
    ids = seed_records(pid, [TEXT, "Second headline"])
    task = make_task(client, pid, "entities", "INFORMATION_EXTRACTION", "headline", ["STOCK", "MOVE"])
    url = f"{API}/{pid}/records/{ids[0]}/labeling-tasks/{task['id']}/spans"
    for label, start, end in [("STOCK", 0, 3), ("MOVE", 6, 7), ("MOVE", 9, 11)]:
        response = client.post(url, json={"label_id": task["by_name"][label], "token_start": start, "token_end": end})
        assert response.status_code == 201, response.text
    return ids, task


def test_review_then_save_removes_only_spans_whose_words_changed(
    tokenizer: Any, client: TestClient, project: dict[str, Any]
) -> None:
    pid = project["id"]
    ids, task = spans_setup(client, pid)
    rid = ids[0]
    edited = TEXT.replace("Dips", "Jumps")
    url = f"{API}/{pid}/records/{rid}"

    review = client.patch(url, json={"values": {"headline": edited}, "dry_run": True})
    assert review.status_code == 200, review.text
    body = review.json()
    assert body["applied"] is False
    assert body["changes"] == [{"attribute": "headline", "data_type": "TEXT", "old": TEXT, "new": edited}]
    assert [(s["label"], s["token_start"], s["token_end"], s["text"]) for s in body["removed_spans"]] == [("MOVE", 6, 7, "Dips")]
    assert body["kept_spans"] == 2 and body["data"]["headline"] == edited
    assert record_data(rid)["headline"] == TEXT and len(manual_rows(rid, task["id"])) == 3  # a review stores nothing

    saved = client.patch(url, json={"values": {"headline": edited}})
    assert saved.status_code == 200, saved.text
    assert saved.json()["applied"] is True and saved.json()["tokenized"] is True
    assert record_data(rid)["headline"] == edited
    assert sorted((r.token_start, r.token_end) for r in manual_rows(rid, task["id"])) == [(0, 3), (9, 11)]
    with session_scope() as session:
        entry = session.scalars(
            select(LabelHistory).where(LabelHistory.record_id == rid).order_by(LabelHistory.id.desc())
        ).first()
        assert entry is not None and len(entry.old_labels) == 3 and len(entry.new_labels) == 2
        assert entry.changed_by is not None and entry.changed_by == entry.annotator_id  # the editor (here the spans' owner)
        stored = session.scalars(select(RecordTokenized).where(RecordTokenized.record_id == rid)).one()
        assert stored.bytes  # the tokenizer stored the new DocBin
    tokens = client.get(f"{API}/{pid}/records/{rid}/tokens", params={"attribute": "headline"}).json()
    assert tokens["attributes"]["headline"]["text"] == edited
    assert [t["text"] for t in tokens["attributes"]["headline"]["tokens"]][6] == "Jumps"

    # a word before every span shifts them all: none covers its words any more
    shifted = client.patch(url, json={"values": {"headline": "Shares of " + edited}}).json()
    assert shifted["applied"] and sorted(s["text"] for s in shifted["removed_spans"]) == ["Broader Markets", "T. Rowe Price"]
    assert manual_rows(rid, task["id"]) == []
    # the other record kept its values
    assert record_data(ids[1])["headline"] == "Second headline"


def test_validation_and_primary_key(client: TestClient, project: dict[str, Any]) -> None:
    pid = project["id"]
    ids = seed_records(pid, ["first", "second"])
    with session_scope() as session:
        session.add(
            Attribute(
                project_id=uuid.UUID(pid),
                name="length",
                data_type=DataType.INTEGER,
                relative_position=3,
                user_created=True,
                state=AttributeState.USABLE,
            )
        )
    url = f"{API}/{pid}/records/{ids[0]}"
    before = record_data(ids[0])
    bad = [
        ({"nope": "x"}, 422, "'nope' is not an attribute"),
        ({"id": "7"}, 422, "INTEGER takes an integer"),
        ({"id": True}, 422, "INTEGER takes an integer"),
        ({"id": None}, 422, "primary-key attribute needs a value"),
        ({"topic": 5}, 422, "CATEGORY takes a string"),
        ({"length": 3}, 422, "calculated attribute"),
        ({"topic": "x", "headline": 1}, 422, "'headline': TEXT takes a string"),
        ({"id": 1}, 409, f"record {ids[1]}'s already"),
    ]
    for values, status, words in bad:
        response = client.patch(url, json={"values": values})
        assert response.status_code == status, (values, response.text)
        assert words in response.json()["detail"], (values, response.text)
    assert record_data(ids[0]) == before  # nothing stored half
    assert client.patch(url, json={"values": {}}).status_code == 422
    assert client.patch(f"{API}/{pid}/records/999999999", json={"values": {"topic": "x"}}).status_code == 404

    # no text changes: no tokenizer needed; a free key is taken
    done = client.patch(url, json={"values": {"topic": "sports", "id": 42}})
    assert done.status_code == 200, done.text
    assert done.json()["applied"] and done.json()["tokenized"] is None
    assert record_data(ids[0]) == {**before, "topic": "sports", "id": 42}
    same = client.patch(url, json={"values": {"topic": "sports"}}).json()
    assert same["changes"] == [] and same["applied"] is False
