"""Labeling-function heuristics through the gateway API with the real executor service (sandboxed runs).

One module (over 400 lines): its tests share one module-scoped executor service and the helpers that create, run and
read a heuristic."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from shared_model.db import session_scope
from shared_model.heuristic_results import ASSOCIATIONS
from shared_model.jobs import wait_for_job
from shared_model.models import HeuristicResult, Job

from ..executor.factory import Data, add_lookup_list, add_records, add_task

TEXTS = [
    "I love this song, check out my channel",
    "great video",
    "subscribe to my channel please",
    "what a beautiful melody",
    "free money at http://spam.example",
]


@pytest.fixture(scope="module")
def executor(services: Any) -> str:
    return str(services.start("executor").url)


@pytest.fixture()
def data(client: TestClient, project: dict[str, Any], executor: str) -> Data:
    data = add_records(uuid.UUID(project["id"]), TEXTS)
    add_task(data, "spam", ["spam", "ham"])
    add_task(data, "spans", ["channel", "word"], extraction=True)
    add_lookup_list(data.project_id, "Spam Words!", "spam_words", ["channel", "subscribe"], blacklisted=["song"])
    return data


def base(data: Data) -> str:
    return f"/api/v1/projects/{data.project_id}/heuristics"


def create(client: TestClient, data: Data, name: str, code: str, task: str = "spam") -> dict[str, Any]:
    response = client.post(base(data), json={"labeling_task_id": str(data.tasks[task]), "name": name, "source_code": code})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def full_run(client: TestClient, data: Data, heuristic_id: str) -> dict[str, Any]:
    response = client.post(f"{base(data)}/{heuristic_id}/runs")
    assert response.status_code == 202, response.text
    job = wait_for_job(uuid.UUID(response.json()["job"]["id"]), timeout_s=120)
    run = client.get(f"{base(data)}/{heuristic_id}/runs/{response.json()['runs'][0]['id']}").json()
    run["job_state"] = str(job.state)
    run["job_error"] = job.error
    return run


def results(data: Data, heuristic_id: str) -> list[tuple[int, str, int | None, int | None]]:
    names = {label_id: name for labels in data.labels.values() for name, label_id in labels.items()}
    with session_scope() as session:
        rows = session.execute(
            text(f"SELECT record_id, label_id, token_start, token_end FROM {ASSOCIATIONS} WHERE source_id = :s"),
            {"s": uuid.UUID(heuristic_id)},
        ).all()
    return sorted((r[0], names[r[1]], r[2], r[3]) for r in rows)


KEYWORD_LF = """from knowledge import spam_words

def lf(record):
    text = record["text"].text.lower()
    if any(word in text for word in spam_words):
        return "spam"
    if "song" in text:
        return "ham"
"""


def test_create_sample_run_and_store(client: TestClient, data: Data) -> None:
    heuristic = create(client, data, "keywords", KEYWORD_LF)
    sample = client.post(f"{base(data)}/{heuristic['id']}/sample", json={})
    assert sample.status_code == 200, sample.text
    body = sample.json()
    assert body["error"] is None and len(body["records"]) == len(TEXTS)
    by_id = {r["record_id"]: r["result"] for r in body["records"]}
    assert by_id[data.record_ids[0]] == "spam" and by_id[data.record_ids[1]] is None

    run = full_run(client, data, heuristic["id"])
    assert run["state"] == "FINISHED" and run["job_state"] == "done", run
    assert run["source_code"] == KEYWORD_LF and run["duration_s"] is not None and run["logs"]
    ids = data.record_ids
    assert results(data, heuristic["id"]) == [(ids[0], "spam", None, None), (ids[2], "spam", None, None)]
    with session_scope() as session:
        stats = session.scalars(select(Job).where(Job.kind == "heuristic_statistics")).all()
    assert [(j.owner_service, j.parameters["source_id"]) for j in stats] == [("weak_supervisor", heuristic["id"])]
    listed = client.get(base(data)).json()
    assert listed[0]["last_run"]["state"] == "FINISHED" and listed[0]["association_count"] == 2


def test_sample_error_points_at_user_line(client: TestClient, data: Data) -> None:
    code = 'def lf(record):\n    print("looking at", record["id"])\n    return 1 / record["id"]\n'
    heuristic = create(client, data, "broken", code)
    body = client.post(f"{base(data)}/{heuristic['id']}/sample", json={"record_ids": data.record_ids[:2]}).json()
    first, second = body["records"]
    assert first["stdout"] == "looking at 0\n"
    assert 'File "<broken>", line 3, in lf' in first["error"] and "ZeroDivisionError" in first["error"]
    assert "worker.py" not in first["error"]
    assert "returned a float" in second["error"]
    unsaved = client.post(f"{base(data)}/{heuristic['id']}/sample", json={"source_code": "def lf(record)\n  pass"}).json()
    assert "SyntaxError" in unsaved["error"] and unsaved["records"] == []


def test_failed_runs_keep_previous_results_and_name_records(client: TestClient, data: Data) -> None:
    heuristic = create(client, data, "keywords", KEYWORD_LF)
    assert full_run(client, data, heuristic["id"])["state"] == "FINISHED"
    before = results(data, heuristic["id"])

    client.patch(f"{base(data)}/{heuristic['id']}", json={"source_code": "def lf(record):\n    return 'eggs'\n"})
    run = full_run(client, data, heuristic["id"])
    assert run["state"] == "FAILED" and run["job_state"] == "failed"
    assert "unknown label 'eggs'" in run["error"] and f"record {data.record_ids[0]}" in run["error"]
    assert results(data, heuristic["id"]) == before

    code = 'def lf(record):\n    if record["id"] == 3:\n        raise ValueError("bad record")\n    return "ham"\n'
    client.patch(f"{base(data)}/{heuristic['id']}", json={"source_code": code})
    run = full_run(client, data, heuristic["id"])
    assert run["state"] == "FAILED" and f"record {data.record_ids[3]}" in run["error"]
    assert "line 3, in lf" in run["error"] and "ValueError: bad record" in run["error"]
    assert results(data, heuristic["id"]) == before

    client.patch(f"{base(data)}/{heuristic['id']}", json={"source_code": "def lf(record):\n    return ['spam']\n"})
    run = full_run(client, data, heuristic["id"])
    assert run["state"] == "FAILED" and "return a label name (str) or None" in run["error"]
    runs = client.get(f"{base(data)}/{heuristic['id']}/runs").json()
    assert [r["state"] for r in runs] == ["FAILED", "FAILED", "FAILED", "FINISHED"]
    assert results(data, heuristic["id"]) == before


def test_extraction_spans_and_range_check(client: TestClient, data: Data) -> None:
    code = """def lf(record):
    for token in record["text"]:
        if token.text == "channel":
            yield "channel", token.i, token.i + 1
"""
    heuristic = create(client, data, "channel spans", code, task="spans")
    run = full_run(client, data, heuristic["id"])
    assert run["state"] == "FINISHED", run
    ids = data.record_ids
    assert results(data, heuristic["id"]) == [(ids[0], "channel", 8, 9), (ids[2], "channel", 3, 4)]

    client.patch(f"{base(data)}/{heuristic['id']}", json={"source_code": "def lf(record):\n    yield 'word', 0, 99\n"})
    run = full_run(client, data, heuristic["id"])
    assert run["state"] == "FAILED" and "out of range" in run["error"]
    assert results(data, heuristic["id"])[0] == (ids[0], "channel", 8, 9)

    client.patch(f"{base(data)}/{heuristic['id']}", json={"source_code": "def lf(record):\n    return 'word'\n"})
    run = full_run(client, data, heuristic["id"])
    assert run["state"] == "FAILED" and "needs a generator" in run["error"]


def test_several_heuristics_share_one_job(client: TestClient, data: Data) -> None:
    first = create(client, data, "a", KEYWORD_LF)
    second = create(client, data, "b", 'def lf(record):\n    return "ham" if "melody" in record["text"].text else None\n')
    response = client.post(f"{base(data)}/runs", json={"heuristic_ids": [first["id"], second["id"]]})
    assert response.status_code == 202, response.text
    job = wait_for_job(uuid.UUID(response.json()["job"]["id"]), timeout_s=120)
    assert str(job.state) == "done", job.error
    assert len(results(data, first["id"])) == 2
    assert results(data, second["id"]) == [(data.record_ids[3], "ham", None, None)]


def test_cancel_keeps_previous_results(client: TestClient, data: Data) -> None:
    heuristic = create(client, data, "slow", KEYWORD_LF)
    assert full_run(client, data, heuristic["id"])["state"] == "FINISHED"
    before = results(data, heuristic["id"])
    slow = "import time\n\ndef lf(record):\n    time.sleep(60)\n"
    client.patch(f"{base(data)}/{heuristic['id']}", json={"source_code": slow})
    started = client.post(f"{base(data)}/{heuristic['id']}/runs").json()
    run_id = started["runs"][0]["id"]
    assert client.post(f"{base(data)}/{heuristic['id']}/runs", json={}).status_code == 409
    deadline = time.monotonic() + 60
    while client.get(f"{base(data)}/{heuristic['id']}/runs/{run_id}").json()["state"] == "QUEUED":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert client.post(f"{base(data)}/{heuristic['id']}/runs/{run_id}/cancel").status_code == 200
    job = wait_for_job(uuid.UUID(started["job"]["id"]), timeout_s=120)
    assert str(job.state) in ("cancelled", "failed")
    run = client.get(f"{base(data)}/{heuristic['id']}/runs/{run_id}").json()
    assert run["state"] in ("CANCELLED", "FAILED")
    assert results(data, heuristic["id"]) == before


def test_post_associations_by_primary_key(client: TestClient, data: Data) -> None:
    response = client.post(
        base(data), json={"labeling_task_id": str(data.tasks["spam"]), "name": "external", "type": "PRE_COMPUTED"}
    )
    heuristic = response.json()
    url = f"{base(data)}/{heuristic['id']}/associations"
    body = {"indices": [0, {"id": 2}, 4], "associations": ["spam", ["ham", 0.7], None]}
    stored = client.post(url, json=body)
    assert stored.status_code == 200, stored.text
    assert stored.json() == {"associations": 2, "records": 2}
    ids = data.record_ids
    assert results(data, heuristic["id"]) == [(ids[0], "spam", None, None), (ids[2], "ham", None, None)]
    bad = client.post(url, json={"indices": [0, 99], "associations": ["nope", "spam"]})
    assert bad.status_code == 422
    assert "unknown label 'nope'" in bad.json()["detail"] and "no record has primary key 99" in bad.json()["detail"]
    assert len(results(data, heuristic["id"])) == 2


def test_validation_and_delete(client: TestClient, data: Data) -> None:
    heuristic = create(client, data, "keywords", KEYWORD_LF)
    dup = client.post(base(data), json={"labeling_task_id": str(data.tasks["spam"]), "name": "keywords"})
    assert dup.status_code == 409
    missing = client.post(base(data), json={"labeling_task_id": str(uuid.uuid4()), "name": "x"})
    assert missing.status_code == 404 and "labeling task" in missing.json()["detail"]
    assert full_run(client, data, heuristic["id"])["state"] == "FINISHED"
    assert len(results(data, heuristic["id"])) == 2
    assert client.delete(f"{base(data)}/{heuristic['id']}").status_code == 204
    with session_scope() as session:
        count = session.scalar(select(func.count()).select_from(HeuristicResult))
    assert count == 0
    assert client.get(f"{base(data)}/{heuristic['id']}").status_code == 404


def _start_slow_run(client: TestClient, data: Data) -> tuple[dict[str, Any], str]:
    """A heuristic with previous results whose new run is running (the executor's stream has locked those results)."""
    heuristic = create(client, data, "slow", KEYWORD_LF)
    assert full_run(client, data, heuristic["id"])["state"] == "FINISHED"
    client.patch(f"{base(data)}/{heuristic['id']}", json={"source_code": "import time\n\ndef lf(record):\n    time.sleep(60)\n"})
    started = client.post(f"{base(data)}/{heuristic['id']}/runs").json()
    deadline = time.monotonic() + 60
    while client.get(f"{base(data)}/{heuristic['id']}/runs/{started['runs'][0]['id']}").json()["state"] != "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    time.sleep(0.5)  # the run's stream has deleted the previous results in its open transaction
    return heuristic, started["job"]["id"]


def _bounded(call: Any, seconds: float = 40.0) -> Any:
    """``call()`` in a thread; fails the test instead of hanging if it has not answered after ``seconds``."""
    answer: list[Any] = []
    thread = threading.Thread(target=lambda: answer.append(call()), daemon=True)
    thread.start()
    thread.join(seconds)
    assert answer, f"no answer within {seconds} s"
    return answer[0]


def test_delete_while_running_cancels_the_run_first(client: TestClient, data: Data) -> None:
    heuristic, job_id = _start_slow_run(client, data)
    response = _bounded(lambda: client.delete(f"{base(data)}/{heuristic['id']}"))
    assert response.status_code == 204, response.text
    assert str(wait_for_job(uuid.UUID(job_id), timeout_s=5).state) == "cancelled"
    assert results(data, heuristic["id"]) == [] and client.get(f"{base(data)}/{heuristic['id']}").status_code == 404


def test_deleting_a_task_whose_heuristic_runs_cancels_the_run_first(client: TestClient, data: Data) -> None:
    heuristic, job_id = _start_slow_run(client, data)
    url = f"/api/v1/projects/{data.project_id}/labeling-tasks/{data.tasks['spam']}"
    response = _bounded(lambda: client.delete(url))
    assert response.status_code == 200, response.text
    assert str(wait_for_job(uuid.UUID(job_id), timeout_s=5).state) == "cancelled"
    assert results(data, heuristic["id"]) == [] and client.get(f"{base(data)}/{heuristic['id']}").status_code == 404


def test_posted_results_are_checked_and_only_taken_by_pre_computed_heuristics(client: TestClient, data: Data) -> None:
    from tokenizer.tokenize import project_target, tokenize_stale_records

    with session_scope() as session:
        target = project_target(session, data.project_id)
    assert tokenize_stale_records(target, lambda *_: None).stored == len(TEXTS)  # "great video": 2 tokens
    function = create(client, data, "keywords", KEYWORD_LF)
    refused = client.post(f"{base(data)}/{function['id']}/associations", json={"indices": [0], "associations": ["spam"]})
    assert refused.status_code == 422 and "only be posted to a PRE_COMPUTED" in refused.json()["detail"]

    def pre_computed(name: str, task: str) -> str:
        body = {"labeling_task_id": str(data.tasks[task]), "name": name, "type": "PRE_COMPUTED"}
        return str(client.post(base(data), json=body).json()["id"])

    labels = pre_computed("external", "spam")
    url = f"{base(data)}/{labels}/associations"
    assert client.post(url, json={"indices": [0], "associations": [["ham", 0.4]]}).status_code == 200
    for value in (["ham", 2.0], ["spam", -5], ["ham", True]):
        bad = client.post(url, json={"indices": [1], "associations": [value]})
        assert bad.status_code == 422, bad.text
    assert (
        client.post(url, json={"indices": [1], "associations": [["ham", 2.0]]})
        .json()["detail"]
        .endswith("#0 (1): confidence 2.0 is not a number from 0 to 1")
    )
    assert results(data, labels) == [(data.record_ids[0], "ham", None, None)]  # kept: nothing half-written

    spans = pre_computed("external spans", "spans")
    url = f"{base(data)}/{spans}/associations"
    beyond = client.post(url, json={"indices": [0, 1], "associations": [[["word", 0, 1]], [["word", 0, 500]]]})
    assert beyond.status_code == 422
    assert f"record {data.record_ids[1]}: a span ends at token 500, after the text's 2 tokens" in beyond.json()["detail"]
    confident = client.post(url, json={"indices": [1], "associations": [[["word", 0, 2, 1.5]]]})
    assert confident.status_code == 422 and "confidence 1.5 of span" in confident.json()["detail"]
    assert client.post(url, json={"indices": [1], "associations": [[["word", 1, 2, 0.5]]]}).status_code == 200
    assert results(data, spans) == [(data.record_ids[1], "word", 1, 2)]
    huge = client.post(url, json={"indices": [2], "associations": [[["word", 0, 2**31]]]})  # an untokenized record
    assert huge.status_code == 422 and "invalid span" in huge.json()["detail"]
    twice = client.post(url, json={"indices": [1, 1], "associations": [[["word", 0, 1]], [["word", 0, 1], ["word", 1, 2]]]})
    assert twice.status_code == 200 and twice.json() == {"associations": 2, "records": 1}  # the same span stored once

    # single-label: the same label twice is one vote; two labels for one record are refused
    same = client.post(f"{base(data)}/{labels}/associations", json={"indices": [0, 0], "associations": ["spam", "spam"]})
    assert same.json() == {"associations": 1, "records": 1}
    conflict = client.post(f"{base(data)}/{labels}/associations", json={"indices": [0, 0], "associations": ["spam", "ham"]})
    assert conflict.status_code == 422 and "#1 (0): the record already got label 'spam' at #0" in conflict.json()["detail"]
    assert results(data, labels) == [(data.record_ids[0], "spam", None, None)]


def test_record_labels_show_heuristic_votes_and_deletion_previews_count_them(client: TestClient, data: Data) -> None:
    project = f"/api/v1/projects/{data.project_id}"
    keywords = create(client, data, "keywords", KEYWORD_LF)
    code = """def lf(record):
    for token in record["text"]:
        if token.text == "channel":
            yield "channel", token.i, token.i + 1
"""
    spans = create(client, data, "channel spans", code, task="spans")
    assert full_run(client, data, keywords["id"])["state"] == "FINISHED"
    assert full_run(client, data, spans["id"])["state"] == "FINISHED"

    def pre_computed(name: str, task: str) -> str:
        body = {"labeling_task_id": str(data.tasks[task]), "name": name, "type": "PRE_COMPUTED"}
        return str(client.post(base(data), json=body).json()["id"])

    external, external_spans = pre_computed("external", "spam"), pre_computed("external spans", "spans")
    posted = {"indices": [0], "associations": [["ham", 0.7]]}
    assert client.post(f"{base(data)}/{external}/associations", json=posted).status_code == 200
    posted = {"indices": [0], "associations": [[["word", 0, 1, 0.5], ["channel", 8, 9]]]}
    assert client.post(f"{base(data)}/{external_spans}/associations", json=posted).status_code == 200
    record = data.record_ids[0]
    manual = {"label_ids": [str(data.labels["spam"]["spam"])]}
    classified = client.put(f"{project}/records/{record}/labeling-tasks/{data.tasks['spam']}/classification", json=manual)
    assert classified.status_code == 200, classified.text

    labels = client.get(f"{project}/records/{record}/labels")
    assert labels.status_code == 200, labels.text
    names = {str(label_id): name for labels_ in data.labels.values() for name, label_id in labels_.items()}
    shown = [
        (v["labeling_task_id"], v["source_type"], v["source_id"], names[v["label_id"]], v["token_start"], v["token_end"],
         v["confidence"], v["return_type"])
        for v in labels.json()
    ]  # fmt: skip
    spam, spans_task = str(data.tasks["spam"]), str(data.tasks["spans"])
    heuristic = "INFORMATION_SOURCE"
    expected = {
        (spam, heuristic, keywords["id"], "spam", None, None, 1.0, "RETURN"),
        (spam, heuristic, external, "ham", None, None, 0.7, "RETURN"),
        (spam, "MANUAL", None, "spam", None, None, 1.0, "RETURN"),
        (spans_task, heuristic, spans["id"], "channel", 8, 9, 1.0, "YIELD"),
        (spans_task, heuristic, external_spans, "word", 0, 1, 0.5, "YIELD"),
        (spans_task, heuristic, external_spans, "channel", 8, 9, 1.0, "YIELD"),
    }
    assert len(shown) == len(expected) and set(shown) == expected
    # ordered by task, then creation (the manual label came last), then span
    tasks_in_order = sorted([spam, spans_task], key=uuid.UUID)
    assert [s[0] for s in shown] == sorted((s[0] for s in shown), key=tasks_in_order.index)
    assert [s[1] for s in shown if s[0] == spam][-1] == "MANUAL"
    votes = [v for v in labels.json() if v["source_type"] == heuristic]
    assert all(v["created_by"] is None and not v["is_gold_star"] and not v["is_valid_manual_label"] for v in votes)
    assert len({v["id"] for v in labels.json()}) == len(shown)  # every vote has an id of its own...
    assert [v["id"] for v in client.get(f"{project}/records/{record}/labels").json()] == [v["id"] for v in labels.json()]

    of_spans = client.get(f"{project}/records/{record}/labels", params={"task_id": spans_task}).json()
    assert {(v["source_id"], v["token_start"]) for v in of_spans} == {(spans["id"], 8), (external_spans, 0), (external_spans, 8)}
    only_manual = client.get(f"{project}/records/{record}/labels", params={"source_type": "manual"}).json()
    assert [v["source_type"] for v in only_manual] == ["MANUAL"]
    only_votes = client.get(f"{project}/records/{record}/labels", params={"source_type": heuristic, "task_id": spam}).json()
    assert sorted(v["source_id"] for v in only_votes) == sorted([keywords["id"], external])
    bogus = client.get(f"{project}/records/{record}/labels", params={"source_type": "ORACLE"})
    assert bogus.status_code == 422 and "ORACLE" in bogus.json()["detail"]

    # posting again replaces the heuristic's votes
    again = client.post(f"{base(data)}/{external}/associations", json={"indices": [1, 2], "associations": ["spam", "spam"]})
    assert again.status_code == 200 and again.json() == {"associations": 2, "records": 2}
    of_spam = client.get(f"{project}/records/{record}/labels", params={"task_id": spam}).json()
    assert sorted((v["source_id"] or "", names[v["label_id"]]) for v in of_spam) == [("", "spam"), (keywords["id"], "spam")]

    # deletion previews count the heuristics' votes: "spam" has 2 of keywords and 2 of external, "word" 1
    label_preview = client.delete(f"{project}/labels/{data.labels['spam']['spam']}", params={"dry_run": True}).json()
    assert label_preview["removes"]["record_label_associations"] == {
        "MANUAL": 1, "INFORMATION_SOURCE": 4, "WEAK_SUPERVISION": 0, "MODEL_CALLBACK": 0
    }  # fmt: skip
    task_preview = client.delete(f"{project}/labeling-tasks/{spans_task}", params={"dry_run": True}).json()["removes"]
    assert task_preview["record_label_associations"]["INFORMATION_SOURCE"] == 2 + 2  # channel spans: records 0 and 2
    removed = client.delete(f"{project}/labels/{data.labels['spans']['word']}").json()["removed"]
    assert removed["record_label_associations"]["INFORMATION_SOURCE"] == 1
    left = client.get(f"{project}/records/{record}/labels", params={"task_id": spans_task}).json()
    assert [(v["source_id"], v["token_start"]) for v in left] == [(spans["id"], 8), (external_spans, 8)]
    assert client.get(f"{base(data)}/{external_spans}").json()["association_count"] == 1


def test_posted_results_naming_a_record_deleted_meanwhile_are_a_conflict(
    client: TestClient, data: Data, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gateway.domain import heuristics

    external = client.post(
        base(data), json={"labeling_task_id": str(data.tasks["spam"]), "name": "external", "type": "PRE_COMPUTED"}
    ).json()
    url = f"{base(data)}/{external['id']}/associations"
    assert client.post(url, json={"indices": [0], "associations": ["ham"]}).status_code == 200
    lookup = heuristics.primary_key_lookup

    def lookup_then_delete(*args: Any) -> Any:  # the record goes away after the keys were matched to records
        found = lookup(*args)
        with session_scope() as session:
            session.execute(text("DELETE FROM record WHERE id = :r"), {"r": data.record_ids[3]})
        return found

    monkeypatch.setattr(heuristics, "primary_key_lookup", lookup_then_delete)
    response = client.post(url, json={"indices": [1, 3], "associations": ["spam", "spam"]})
    assert response.status_code == 409, response.text
    assert f"names record {data.record_ids[3]}, which does not exist" in response.json()["detail"]
    assert "nothing was stored" in response.json()["detail"]
    assert results(data, external["id"]) == [(data.record_ids[0], "ham", None, None)]  # the previous results are kept
