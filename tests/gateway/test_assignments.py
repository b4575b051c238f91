"""Work for annotators through the real gateway on Postgres: deterministic distribution with redundancy, an
annotator's queue (progress, next, skip, comment), the annotator's record scope (404 outside their work), blind
labeling and its switch, the engineer's per-annotator progress and revert, and project isolation."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from typing import Any

from fastapi.testclient import TestClient

from shared_model.db import session_scope
from shared_model.heuristic_results import ResultBuffer, store_session_results
from shared_model.models import HeuristicType, InformationSource

from .test_labeling import API, classify, make_task, second_user, seed_records


def _me(client: TestClient, headers: dict[str, str]) -> str:
    user_id: str = client.get("/api/v1/auth/me", headers=headers).json()["id"]
    return user_id


def _team(client: TestClient, pid: str, n: int) -> list[tuple[str, dict[str, str]]]:
    """n annotators: (user id, Bearer headers)."""
    out = []
    for i in range(n):
        headers = second_user(client, pid, f"ann{i}@example.org", work=False)
        out.append((_me(client, headers), headers))
    return out


def _assign(client: TestClient, pid: str, **body: Any) -> dict[str, Any]:
    response = client.post(f"{API}/{pid}/assignments", json={"name": "batch", **body})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def test_a_slice_is_distributed_with_redundancy_deterministically(client: TestClient, project: dict[str, Any]) -> None:
    pid = project["id"]
    rids = seed_records(pid, [f"headline {i}" for i in range(9)])
    team = _team(client, pid, 3)
    data_slice = client.post(f"{API}/{pid}/slices", json={"name": "all", "type": "STATIC_DEFAULT"}).json()
    made = _assign(client, pid, slice_id=data_slice["id"], annotator_ids=[a for a, _ in team], redundancy=2, due_count=5)
    assert made["record_count"] == 9 and made["redundancy"] == 2 and made["bias_guard"] is True
    # each record to 2 different annotators; each annotator 9·2/3 = 6 records, 5 of them due
    assert [(p["assigned"], p["done"], p["due_count"]) for p in made["annotators"]] == [(6, 0, 5)] * 3
    holders: Counter[int] = Counter()
    queues = {}
    for annotator_id, headers in team:
        mine = client.get(f"{API}/{pid}/my-assignments", headers=headers).json()
        assert [(m["id"], m["assigned"], m["done"]) for m in mine] == [(made["id"], 6, 0)]
        records = client.get(f"{API}/{pid}/records", headers=headers).json()["items"]
        queues[annotator_id] = [r["id"] for r in records]
        holders.update(queues[annotator_id])
    assert holders == Counter(dict.fromkeys(rids, 2))
    # round robin: record i to annotators (2i) mod 3 and (2i+1) mod 3
    first = team[0][0]
    assert queues[first] == [rids[i] for i in range(9) if 0 in ((2 * i) % 3, (2 * i + 1) % 3)]
    # the same input distributes the same way
    again = _assign(client, pid, record_ids=rids, annotator_ids=[a for a, _ in team], redundancy=2)
    second = client.get(f"{API}/{pid}/my-assignments/{again['id']}/next", headers=team[0][1]).json()
    assert second["record"]["id"] == queues[first][0]
    # bad input: redundancy above the team, a stranger, two sources
    too_many = client.post(
        f"{API}/{pid}/assignments", json={"name": "x", "record_ids": rids, "annotator_ids": [first], "redundancy": 2}
    )
    assert too_many.status_code == 422 and "redundancy" in too_many.json()["detail"]
    stranger = client.post(
        f"{API}/{pid}/assignments", json={"name": "x", "record_ids": rids, "annotator_ids": [str(uuid.uuid4())]}
    )
    assert stranger.status_code == 422 and "not members" in stranger.json()["detail"]
    both = client.post(
        f"{API}/{pid}/assignments",
        json={"name": "x", "record_ids": rids, "slice_id": data_slice["id"], "annotator_ids": [first]},
    )
    assert both.status_code == 422


def test_the_queue_progresses_with_labels_skip_and_comment(client: TestClient, project: dict[str, Any]) -> None:
    pid = project["id"]
    rids = seed_records(pid, ["a", "b", "c"])
    task = make_task(client, pid, "sentiment", "MULTICLASS_CLASSIFICATION", None, ["pos", "neg"])
    (annotator_id, ann), (other_id, _) = _team(client, pid, 2)
    session = client.post(f"{API}/{pid}/labeling-sessions", json={"record_ids": list(reversed(rids))}).json()
    made = _assign(client, pid, session_id=session["id"], annotator_ids=[annotator_id], labeling_task_id=task["id"])
    url = f"{API}/{pid}/my-assignments/{made['id']}"

    def nxt(**params: Any) -> dict[str, Any]:
        response = client.get(f"{url}/next", params=params, headers=ann)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    first = nxt()
    assert first["record"]["id"] == rids[2] and first["record"]["data"]["headline"] == "c"  # the session's order
    assert (first["assigned"], first["done"], first["position"]) == (3, 0, 0)
    assert classify(client, pid, rids[2], task, ["pos"], headers=ann).status_code == 200
    assert nxt()["record"]["id"] == rids[1] and nxt()["done"] == 1
    skipped = client.post(f"{url}/skip", json={"record_id": rids[1]}, headers=ann)
    assert skipped.status_code == 200 and skipped.json()["skipped"] == 1
    assert nxt()["record"]["id"] == rids[0]
    assert classify(client, pid, rids[0], task, ["neg"], headers=ann).status_code == 200
    done = nxt()
    assert done["record"] is None and (done["done"], done["skipped"]) == (2, 1)
    assert nxt(include_skipped=True)["record"]["id"] == rids[1]
    # a record outside the queue cannot be skipped; another annotator has no such queue
    assert client.post(f"{url}/skip", json={"record_id": 10**9}, headers=ann).status_code == 404
    other = second_user(client, pid, "ann9@example.org", work=False)
    assert client.get(f"{url}/next", headers=other).status_code == 404
    # a comment to the engineer, seen with the progress
    commented = client.put(f"{url}/comment", json={"comment": "record b is in French"}, headers=ann)
    assert commented.status_code == 200
    seen = client.get(f"{API}/{pid}/assignments/{made['id']}").json()["annotators"]
    assert [(p["annotator_id"], p["done"], p["skipped"], p["comment"]) for p in seen] == [
        (annotator_id, 2, 1, "record b is in French")
    ]
    assert other_id not in {p["annotator_id"] for p in seen}


def test_an_annotator_reaches_only_assigned_records(client: TestClient, project: dict[str, Any]) -> None:
    pid = project["id"]
    rids = seed_records(pid, ["mine", "not mine"])
    task = make_task(client, pid, "sentiment", "MULTICLASS_CLASSIFICATION", None, ["pos", "neg"])
    ((annotator_id, ann),) = _team(client, pid, 1)
    expert = second_user(client, pid, "expert@example.org", role="EXPERT")
    mine, theirs = rids
    # before any assignment an annotator reaches no record at all
    assert client.get(f"{API}/{pid}/records", headers=ann).json()["items"] == []
    _assign(client, pid, record_ids=[mine], annotator_ids=[annotator_id])
    record_routes = [
        ("GET", "/records/{rid}/labels", None),
        ("GET", "/records/{rid}/tokens", None),
        ("PUT", f"/records/{{rid}}/labeling-tasks/{task['id']}/classification", {"label_ids": [task["by_name"]["pos"]]}),
        ("DELETE", f"/records/{{rid}}/labeling-tasks/{task['id']}/classification", None),
        ("GET", "/comments?target_type=RECORD&target_id={rid}", None),
    ]
    for method, path, body in record_routes:
        outside = client.request(method, f"{API}/{pid}{path.format(rid=theirs)}", json=body, headers=ann)
        assert outside.status_code == 404, (path, outside.text)
        assert outside.json()["detail"] == f"record {theirs} does not exist in this project"
        missing = client.request(method, f"{API}/{pid}{path.format(rid=10**9)}", json=body, headers=ann)
        assert missing.status_code == 404 and missing.json()["detail"] == f"record {10**9} does not exist in this project"
        inside = client.request(method, f"{API}/{pid}{path.format(rid=mine)}", json=body, headers=ann)
        # past the policy (the tokens route answers 503: no tokenizer runs in this in-process gateway)
        assert inside.status_code in (200, 204, 503), (path, inside.text)
        assert client.request(method, f"{API}/{pid}{path.format(rid=theirs)}", json=body, headers=expert).status_code != 404
    comment = {"target_type": "RECORD", "target_id": str(theirs), "body": "hi"}
    assert client.post(f"{API}/{pid}/comments", json=comment, headers=ann).status_code == 404
    assert client.post(f"{API}/{pid}/comments", json={**comment, "target_id": str(mine)}, headers=ann).status_code == 201
    assert [r["id"] for r in client.get(f"{API}/{pid}/records", headers=ann).json()["items"]] == [mine]
    # comments listed without a target (or by type only): none on records outside their work, none on heuristics
    for target in (str(theirs), str(mine)):
        shared = {"target_type": "RECORD", "target_id": target, "body": f"engineer on {target}"}
        assert client.post(f"{API}/{pid}/comments", json=shared).status_code == 201
    assert (
        client.post(
            f"{API}/{pid}/comments", json={"target_type": "LABELING_TASK", "target_id": task["id"], "body": "t"}
        ).status_code
        == 201
    )
    for params in ({}, {"target_type": "RECORD"}):
        seen = client.get(f"{API}/{pid}/comments", params=params, headers=ann).json()
        assert sorted(c["body"] for c in seen if c["target_type"] == "RECORD") == ["engineer on " + str(mine), "hi"]
        assert all(c["target_id"] != str(theirs) for c in seen)
        assert len(client.get(f"{API}/{pid}/comments", params=params, headers=expert).json()) > len(seen) - (0 if params else 1)
    assert any(c["target_type"] == "LABELING_TASK" for c in client.get(f"{API}/{pid}/comments", headers=ann).json())
    assert any(c["target_id"] == str(theirs) for c in client.get(f"{API}/{pid}/comments", headers=expert).json())
    assert len(client.get(f"{API}/{pid}/records", headers=expert).json()["items"]) == 2
    # assignments are the engineer's: an annotator and an expert may not list or create them
    for headers in (ann, expert):
        refused = client.get(f"{API}/{pid}/assignments", headers=headers)
        assert refused.status_code == 403 and "assign work" in refused.json()["detail"]


def test_blind_labeling_and_the_bias_guard_switch(client: TestClient, project: dict[str, Any]) -> None:
    pid = project["id"]
    (rid,) = seed_records(pid, ["a headline"])
    task = make_task(client, pid, "sentiment", "MULTICLASS_CLASSIFICATION", None, ["pos", "neg"])
    (a_id, a), (b_id, b) = _team(client, pid, 2)
    made = _assign(client, pid, record_ids=[rid], annotator_ids=[a_id, b_id], redundancy=2)
    assert classify(client, pid, rid, task, ["pos"], headers=a).status_code == 200
    assert classify(client, pid, rid, task, ["neg"], headers=b).status_code == 200
    with session_scope() as session:
        source = InformationSource(
            project_id=uuid.UUID(pid), labeling_task_id=uuid.UUID(task["id"]), type=HeuristicType.PRE_COMPUTED, name="h"
        )
        session.add(source)
        session.flush()
        votes = ResultBuffer()
        votes.add_records(uuid.UUID(task["by_name"]["neg"]), [rid])
        store_session_results(session, uuid.UUID(pid), uuid.UUID(task["id"]), source.id, votes)

    def seen(headers: dict[str, str]) -> set[tuple[str, str | None]]:
        response = client.get(f"{API}/{pid}/records/{rid}/labels", headers=headers)
        assert response.status_code == 200, response.text
        return {(row["source_type"], row["created_by"]) for row in response.json()}

    assert seen(a) == {("MANUAL", a_id)}
    again = classify(client, pid, rid, task, ["pos"], headers=a).json()
    assert {row["created_by"] for row in again["mine"] + again["valid"]} == {a_id}
    switched = client.patch(f"{API}/{pid}/assignments/{made['id']}", json={"bias_guard": False})
    assert switched.status_code == 200 and switched.json()["bias_guard"] is False
    assert seen(a) == {("MANUAL", a_id), ("MANUAL", b_id), ("INFORMATION_SOURCE", None)}
    assert client.get(f"{API}/{pid}/my-assignments", headers=b).json()[0]["bias_guard"] is False
    # the switch is per assignment: another record of another (guarded) assignment stays blind
    (other,) = seed_records_more(pid, "another")
    _assign(client, pid, record_ids=[other], annotator_ids=[a_id, b_id], redundancy=2)
    assert classify(client, pid, other, task, ["neg"], headers=b).status_code == 200
    response = client.get(f"{API}/{pid}/records/{other}/labels", headers=a)
    assert response.status_code == 200 and response.json() == []


def seed_records_more(project_id: str, text: str) -> list[int]:
    """One more record in a project whose attributes exist already."""
    from shared_model.models import Record

    with session_scope() as session:
        record = Record(project_id=uuid.UUID(project_id), data={"id": 99, "headline": text, "topic": "news"})
        session.add(record)
        session.flush()
        return [record.id]


def test_the_engineer_reverts_one_annotators_labels_of_an_assignment(client: TestClient, project: dict[str, Any]) -> None:
    pid = project["id"]
    rids = seed_records(pid, ["a", "b", "c"])
    task = make_task(client, pid, "sentiment", "MULTICLASS_CLASSIFICATION", None, ["pos", "neg"])
    (a_id, a), (b_id, b) = _team(client, pid, 2)
    engineer = second_user(client, pid, "engineer@example.org", role="ENGINEER")
    made = _assign(client, pid, record_ids=rids[:2], annotator_ids=[a_id, b_id], redundancy=2)
    _assign(client, pid, record_ids=[rids[2]], annotator_ids=[a_id])
    for rid in rids[:2]:
        assert classify(client, pid, rid, task, ["pos"], headers=a).status_code == 200
        assert classify(client, pid, rid, task, ["neg"], headers=b).status_code == 200
    assert classify(client, pid, rids[2], task, ["pos"], headers=a).status_code == 200
    before = client.get(f"{API}/{pid}/assignments/{made['id']}", headers=engineer).json()["annotators"]
    assert sorted((p["annotator_id"], p["done"]) for p in before) == sorted([(a_id, 2), (b_id, 2)])
    reverted = client.post(f"{API}/{pid}/assignments/{made['id']}/revert", json={"annotator_id": a_id}, headers=engineer)
    assert reverted.status_code == 200 and reverted.json()["changes"] == 2, reverted.text
    after = {p["annotator_id"]: p["done"] for p in client.get(f"{API}/{pid}/assignments/{made['id']}").json()["annotators"]}
    assert after == {a_id: 0, b_id: 2}
    # the record of the other assignment keeps a's label; the history names the revert
    labels = client.get(f"{API}/{pid}/records/{rids[2]}/labels").json()
    assert [(row["created_by"], row["label_id"]) for row in labels] == [(a_id, task["by_name"]["pos"])]
    history = client.get(f"{API}/{pid}/label-history", params={"annotator_id": a_id}).json()
    assert [h["via"] for h in history][:2] == ["REVERT", "REVERT"]
    assert client.delete(f"{API}/{pid}/assignments/{made['id']}", headers=engineer).status_code == 204
    assert client.get(f"{API}/{pid}/assignments/{made['id']}").status_code == 404


def test_a_member_of_project_a_sees_nothing_of_b(client: TestClient, project: dict[str, Any]) -> None:
    pid = project["id"]
    rids = seed_records(pid, ["a"])
    ((a_id, a),) = _team(client, pid, 1)
    made = _assign(client, pid, record_ids=rids, annotator_ids=[a_id])
    other = client.post("/api/v1/projects", json={"name": "B"}).json()["id"]
    for path in ("/my-assignments", f"/my-assignments/{made['id']}/next", f"/records/{rids[0]}/labels", "/assignments"):
        response = client.get(f"{API}/{other}{path}", headers=a)
        assert response.status_code == 404 and "not a member" in response.json()["detail"], path
    # the engineer of B does not find A's assignment through B either
    assert client.get(f"{API}/{other}/assignments/{made['id']}").status_code == 404


def test_label_events_reach_an_annotator_only_for_records_of_their_work(client: TestClient, project: dict[str, Any]) -> None:
    pid = project["id"]
    mine, theirs = seed_records(pid, ["mine", "not mine"])
    task = make_task(client, pid, "sentiment", "MULTICLASS_CLASSIFICATION", None, ["pos", "neg"])
    ((annotator_id, ann),) = _team(client, pid, 1)
    expert = second_user(client, pid, "expert@example.org", role="EXPERT")
    _assign(client, pid, record_ids=[mine], annotator_ids=[annotator_id])
    sockets = TestClient(client.app)
    with (
        sockets.websocket_connect(f"/api/v1/ws?token={ann['Authorization'][7:]}") as ann_ws,
        sockets.websocket_connect(f"/api/v1/ws?token={expert['Authorization'][7:]}") as exp_ws,
    ):
        assert ann_ws.receive_json()["projects"] == [pid] and exp_ws.receive_json()["projects"] == [pid]
        time.sleep(0.3)
        classify(client, pid, theirs, task, ["pos"])  # a record outside the annotator's work
        bulk = {"labeling_task_id": task["id"], "record_ids": [mine, theirs], "label_id": task["by_name"]["neg"]}
        assert client.post(f"{API}/{pid}/manual-labels/bulk", json=bulk).status_code == 200
        first, second = exp_ws.receive_json(), exp_ws.receive_json()  # the expert hears of every record
        assert (first["type"], first["record_ids"], second["record_ids"]) == ("labels", [theirs], [mine, theirs])
        assert first["labeling_task_id"] == task["id"] and first["project_id"] == pid
        event = ann_ws.receive_json()  # the annotator's first event is the bulk one, and only with their record
        assert (event["type"], event["record_ids"]) == ("labels", [mine]), "an event about another record reached them"
