"""Spans (by token and by character range), tokens and the tokenizer setting, with the real tokenizer service."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shared_model.jobs import wait_for_job
from shared_model.models import JobState

from .test_labeling import API, make_task, manual_rows, second_user, seed_records

pytestmark = pytest.mark.integration

TEXT = "T. Rowe Price (TROW) Dips More Than Broader Markets"
# tokens:  0 T.  1 Rowe  2 Price  3 (  4 TROW  5 )  6 Dips  7 More  8 Than  9 Broader  10 Markets


@pytest.fixture()
def tokenizer(services: Any) -> Any:
    return services.start("tokenizer")


def test_tokens_and_spans(tokenizer: Any, client: TestClient, project: dict[str, Any]) -> None:
    pid = project["id"]
    [rid] = seed_records(pid, [TEXT])
    tokens = client.get(f"{API}/{pid}/records/{rid}/tokens", params={"attribute": "headline"}).json()
    rows = tokens["attributes"]["headline"]["tokens"]
    assert [t["text"] for t in rows][:6] == ["T.", "Rowe", "Price", "(", "TROW", ")"]
    assert rows[4] == {"i": 4, "text": "TROW", "idx": 15, "end": 19, "whitespace": "", "ent_type": None}

    task = make_task(client, pid, "entities", "INFORMATION_EXTRACTION", "headline", ["STOCK", "MOVE"])
    url = f"{API}/{pid}/records/{rid}/labeling-tasks/{task['id']}/spans"
    by_tokens = client.post(url, json={"label_id": task["by_name"]["STOCK"], "token_start": 0, "token_end": 3})
    assert by_tokens.status_code == 201, by_tokens.text
    expected = {"token_start": 0, "token_end": 3, "char_start": 0, "char_end": 13, "text": "T. Rowe Price", "created": True}
    assert {key: by_tokens.json()[key] for key in expected} == expected
    # "owe Pr" snaps outward to "Rowe Price"
    by_chars = client.post(url, json={"label_id": task["by_name"]["MOVE"], "char_start": 4, "char_end": 10})
    body = by_chars.json()
    assert (body["token_start"], body["token_end"], body["char_start"], body["char_end"], body["text"]) == (
        1,
        3,
        3,
        13,
        "Rowe Price",
    )
    again = client.post(url, json={"label_id": task["by_name"]["MOVE"], "token_start": 1, "token_end": 3})
    assert again.status_code == 200 and again.json()["id"] == body["id"] and not again.json()["created"]
    assert len(manual_rows(rid, task["id"])) == 2 and all(r.is_valid_manual_label for r in manual_rows(rid, task["id"]))

    bad = [
        ({"token_start": 3, "token_end": 3}, "empty"),
        ({"token_start": 5, "token_end": 12}, "outside the text's 11 tokens"),
        ({"token_start": -1, "token_end": 2}, "outside"),
        ({"char_start": 7, "char_end": 7}, "empty"),
        ({"char_start": 40, "char_end": 400}, f"outside the text's {len(TEXT)} characters"),
        ({"char_start": 7, "char_end": 8}, "covers no token"),
        ({"token_start": 1}, "both token_start and token_end"),
        ({}, "give a span"),
    ]
    for payload, words in bad:
        response = client.post(url, json={"label_id": task["by_name"]["STOCK"], **payload})
        assert response.status_code == 422, (payload, response.text)
        assert words in response.json()["detail"], (payload, response.text)
    other_task = make_task(client, pid, "sentiment", "MULTICLASS_CLASSIFICATION", None, ["pos"])
    wrong = client.post(url, json={"label_id": other_task["by_name"]["pos"], "token_start": 0, "token_end": 1})
    assert wrong.status_code == 422 and "belongs to task 'sentiment'" in wrong.json()["detail"]
    unknown = client.post(url, json={"label_id": str(uuid.uuid4()), "token_start": 0, "token_end": 1})
    assert unknown.status_code == 422 and "does not exist" in unknown.json()["detail"]
    classification = client.post(
        f"{API}/{pid}/records/{rid}/labeling-tasks/{other_task['id']}/spans",
        json={"label_id": other_task["by_name"]["pos"], "token_start": 0, "token_end": 1},
    )
    assert classification.status_code == 422 and "INFORMATION_EXTRACTION" in classification.json()["detail"]
    assert len(manual_rows(rid, task["id"])) == 2

    # another annotator with a different span: disagreement; removing theirs restores validity
    other = second_user(client, pid)
    theirs = client.post(url, json={"label_id": task["by_name"]["STOCK"], "token_start": 4, "token_end": 5}, headers=other).json()
    assert not any(r.is_valid_manual_label for r in manual_rows(rid, task["id"]))
    forbidden = client.delete(f"{API}/{pid}/records/{rid}/labels/{theirs['id']}")
    assert forbidden.status_code == 403
    assert client.delete(f"{API}/{pid}/records/{rid}/labels/{theirs['id']}", headers=other).status_code == 204
    assert all(r.is_valid_manual_label for r in manual_rows(rid, task["id"]))


def test_tokenizer_setting_is_checked_and_retokenizes(tokenizer: Any, client: TestClient, project: dict[str, Any]) -> None:
    pid = project["id"]
    seed_records(pid, ["Ein kurzer Satz.", "Noch einer."])
    unknown = client.put(f"{API}/{pid}/tokenizer", json={"tokenizer": "de_core_news_sm"})
    assert unknown.status_code == 422 and "de_core_news_sm" in unknown.json()["detail"]
    assert client.get(f"{API}/{pid}").json()["tokenizer"] == "en"
    changed = client.put(f"{API}/{pid}/tokenizer", json={"tokenizer": "de"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["pipeline"]["kind"] == "blank"
    job = wait_for_job(uuid.UUID(changed.json()["job"]["id"]), timeout_s=60)
    assert job.state == JobState.DONE and job.result["tokenized"] == 2 and job.result["tokenizer"] == "de"
    again = client.post(f"{API}/{pid}/tokenize")
    assert wait_for_job(uuid.UUID(again.json()["id"]), timeout_s=60).result["tokenized"] == 0
