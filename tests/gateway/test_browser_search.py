"""Data browser search through the HTTP API on real Postgres: every filter kind is compared with a Python evaluation
of the same filter over the fixture; sorting, keyset paging, counts, unique values and bad filters."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from .browser_world import World, build_world, evaluate, search_ids


@pytest.fixture()
def world(client: TestClient, project: dict[str, Any]) -> World:
    return build_world(client, project["id"])


def _attr(
    attribute: str | None, operator: str, *values: Any, case_sensitive: bool = False, negate: bool = False
) -> dict[str, Any]:
    return {
        "kind": "attribute",
        "attribute": attribute,
        "operator": operator,
        "values": list(values),
        "case_sensitive": case_sensitive,
        "negate": negate,
    }


def _group(*conditions: dict[str, Any], join: str = "AND", negate: bool = False) -> dict[str, Any]:
    return {"kind": "group", "join": join, "negate": negate, "conditions": list(conditions)}


def attribute_filters() -> list[dict[str, Any]]:
    return [
        _attr("headline", "EQUAL", "apple"),
        _attr("headline", "EQUAL", "apple", case_sensitive=True),
        _attr("headline", "BEGINS_WITH", "Apple", case_sensitive=True),
        _attr("headline", "ENDS_WITH", "news"),
        _attr("headline", "CONTAINS", "50%"),
        _attr("headline", "CONTAINS", "under_"),
        _attr("headline", "CONTAINS", "ünï"),
        _attr("topic", "IN", "sports", "tech"),
        _attr("topic", "IN", "Sports", "tech", case_sensitive=True),
        _attr("headline", "IN_WC", "apple*", "*new?"),
        _attr("headline", "IN_WC", "%_score%", case_sensitive=True),
        _attr("score", "BETWEEN", -1, 2.5),
        _attr("score", "GREATER", 1),
        _attr("score", "GREATER_EQUAL", "1.5"),
        _attr("score", "LESS", 0),
        _attr("score", "LESS_EQUAL", -2.01),
        _attr("score", "LESS", 0, negate=True),
        _attr("key", "IN", 1, 5, 7, 100),
        _attr("key", "BEGINS_WITH", "1"),
        _attr("flag", "EQUAL", True),
        _attr("topic", "GREATER", "s"),
        _attr(None, "CONTAINS", "sport"),
        _attr(None, "EQUAL", 3),
    ]


def test_attribute_filters_match_python(client: TestClient, world: World) -> None:
    for condition in attribute_filters():
        body = {"filter": _group(condition)}
        expected = evaluate(world, body["filter"])
        found = search_ids(client, world, body, page=50)
        assert set(found) == expected, condition
        assert len(found) == len(set(found))
    # at least some conditions select some but not all records (the fixture is not degenerate)
    sizes = {len(evaluate(world, _group(c))) for c in attribute_filters()}
    assert any(0 < s < len(world.records) for s in sizes)


def label_filters(world: World) -> list[dict[str, Any]]:
    s, e = world.sentiment, world.entities
    pos, neg = s["by_name"]["pos"], s["by_name"]["neg"]
    return [
        {"kind": "manual_label", "task_id": s["id"]},
        {"kind": "manual_label", "task_id": s["id"], "mode": "labels", "label_ids": [pos]},
        {"kind": "manual_label", "task_id": s["id"], "mode": "labels", "label_ids": [pos, neg], "negate": True},
        {"kind": "manual_label", "task_id": s["id"], "mode": "none"},
        {"kind": "manual_label", "task_id": s["id"], "annotator_id": world.annotator_id},
        {"kind": "manual_label", "task_id": s["id"], "mode": "labels", "label_ids": [pos], "decided": True},
        {"kind": "annotators_disagree", "task_id": s["id"]},
        {"kind": "annotators_disagree", "task_id": e["id"], "negate": True},
        {"kind": "manual_label", "task_id": e["id"], "mode": "labels", "label_ids": [e["by_name"]["PER"]]},
        {"kind": "gold_star", "task_id": s["id"]},
        {"kind": "weak_supervision", "task_id": s["id"]},
        {"kind": "weak_supervision", "task_id": s["id"], "mode": "none"},
        {"kind": "weak_supervision", "task_id": s["id"], "mode": "labels", "label_ids": [neg]},
        {"kind": "weak_supervision", "task_id": s["id"], "min_confidence": 0.3, "max_confidence": 0.7},
        {"kind": "weak_supervision", "task_id": s["id"], "mode": "labels", "label_ids": [pos], "min_confidence": 0.5},
        {"kind": "heuristic", "heuristic_id": world.heuristics["h1"]},
        {"kind": "heuristic", "heuristic_id": world.heuristics["h1"], "mode": "labels", "label_ids": [pos]},
        {"kind": "heuristic", "heuristic_id": world.heuristics["h2"], "mode": "none"},
        {"kind": "heuristic", "heuristic_id": world.heuristics["e1"], "mode": "labels", "label_ids": [e["by_name"]["ORG"]]},
        {"kind": "heuristics_disagree", "task_id": s["id"]},
        {"kind": "heuristics_disagree", "task_id": s["id"], "negate": True},
        {"kind": "no_heuristic_voted", "task_id": s["id"]},
        {"kind": "no_heuristic_voted", "task_id": e["id"]},
        {"kind": "manual_ws_differ", "task_id": s["id"]},
        {"kind": "manual_ws_differ", "task_id": e["id"]},
        {"kind": "has_comments"},
        {"kind": "has_comments", "negate": True},
    ]


def test_label_heuristic_and_comment_filters_match_python(client: TestClient, world: World) -> None:
    non_trivial = 0
    for condition in label_filters(world):
        body = {"filter": _group(condition)}
        expected = evaluate(world, body["filter"])
        found = search_ids(client, world, body, page=50)
        assert set(found) == expected, condition
        non_trivial += 0 < len(expected) < len(world.records)
    assert non_trivial >= len(label_filters(world)) - 3


def test_groups_and_or_negation_match_python(client: TestClient, world: World) -> None:
    s = world.sentiment
    filters = [
        _group(_attr("topic", "EQUAL", "tech"), {"kind": "weak_supervision", "task_id": s["id"]}),
        _group(_attr("topic", "EQUAL", "tech"), {"kind": "has_comments"}, join="OR"),
        _group(
            _group(_attr("score", "GREATER", 0), _attr("flag", "EQUAL", False), join="OR"),
            _group(
                {"kind": "manual_label", "task_id": s["id"]}, {"kind": "heuristics_disagree", "task_id": s["id"]}, negate=True
            ),
        ),
        _group(),
        _group(_group(), negate=True),
    ]
    for node in filters:
        assert set(search_ids(client, world, {"filter": node}, page=50)) == evaluate(world, node), node


def test_sort_and_keyset_paging(client: TestClient, world: World) -> None:
    every = set(world.records)
    # by a numeric attribute descending: missing scores last, ties broken by id
    ids = search_ids(client, world, {"sort": [{"by": "attribute", "attribute": "score", "direction": "desc"}]}, page=7)
    expected = sorted(
        every, key=lambda r: (world.records[r].get("score") is None, -Decimal(str(world.records[r].get("score", 0))), r)
    )
    assert ids == expected
    # by text ascending then key descending
    ids = search_ids(
        client,
        world,
        {"sort": [{"by": "attribute", "attribute": "topic"}, {"by": "attribute", "attribute": "key", "direction": "desc"}]},
        page=5,
    )
    assert ids == sorted(every, key=lambda r: (world.records[r]["topic"].encode(), -world.records[r]["key"]))
    # by weak-supervision confidence: records without one last
    ws = {
        r["record_id"]: r["confidence"]
        for r in world.rla
        if r["source_type"] == "WEAK_SUPERVISION" and r["task_id"] == world.sentiment["id"]
    }
    ids = search_ids(client, world, {"sort": [{"by": "confidence", "task_id": world.sentiment["id"]}]}, page=9)
    assert ids == sorted(every, key=lambda r: (r not in ws, ws.get(r, 0.0), r))
    # random with a seed: stable for the seed, different for another, a permutation of the records
    first = search_ids(client, world, {"sort": [{"by": "random", "seed": "abc1234"}]}, page=6)
    again = search_ids(client, world, {"sort": [{"by": "random", "seed": "abc1234"}]}, page=11)
    other = search_ids(client, world, {"sort": [{"by": "random", "seed": "zzz9999"}]}, page=6)
    assert first == again and sorted(first) == sorted(every) and first != other and first != sorted(every)


def test_page_shape_counts_and_cursor_errors(client: TestClient, world: World) -> None:
    node = _group({"kind": "manual_label", "task_id": world.sentiment["id"]})
    expected = evaluate(world, node)
    r = client.post(world.url("/records/search"), json={"filter": node, "limit": 3})
    body = r.json()
    assert r.status_code == 200 and body["total"] == len(expected) and body["total_estimated"] is False
    assert len(body["items"]) == 3 and body["next_cursor"]
    item = body["items"][0]
    assert item["data"] == world.records[item["id"]]
    assert {lab["source_type"] for lab in item["labels"]} >= {"MANUAL"}
    estimate = client.post(world.url("/records/search"), json={"filter": node, "count": "estimate"}).json()
    assert estimate["total_estimated"] is True and estimate["total"] >= 0
    assert client.post(world.url("/records/search"), json={"count": "none"}).json()["total"] is None
    counted = client.post(world.url("/records/count"), json={"filter": node}).json()
    assert counted == {"total": len(expected), "total_estimated": False}
    bad = client.post(world.url("/records/search"), json={"cursor": "bm90IGEgY3Vyc29y"})
    assert bad.status_code == 422 and "cursor" in bad.json()["detail"]
    # a cursor of another sort order does not fit
    sorted_page = client.post(
        world.url("/records/search"), json={"limit": 2, "sort": [{"by": "attribute", "attribute": "topic"}]}
    ).json()
    mismatch = client.post(world.url("/records/search"), json={"limit": 2, "cursor": sorted_page["next_cursor"]})
    assert mismatch.status_code == 422
    assert client.post(world.url("/records/search"), json={"limit": 501}).status_code == 422


def test_bad_filters_name_the_condition(client: TestClient, world: World) -> None:
    s = world.sentiment
    cases = [
        (_group(_attr("topic", "EQUAL", "x"), _attr("nope", "EQUAL", "x")), "filter.conditions[1]", "'nope' does not exist"),
        (_group(_group(_attr("score", "GREATER", "abc"))), "filter.conditions[0].conditions[0]", "needs numbers"),
        (
            _group(
                {"kind": "manual_label", "task_id": s["id"], "mode": "labels", "label_ids": [world.entities["by_name"]["PER"]]}
            ),
            "filter.conditions[0]",
            "belongs to task 'entities'",
        ),
        (
            _group({"kind": "manual_label", "task_id": s["id"], "mode": "labels"}),
            "filter.conditions[0]",
            "needs at least one label",
        ),
        (_group({"kind": "heuristic", "heuristic_id": s["id"]}), "filter.conditions[0]", "heuristic"),
        (_group({"kind": "in_slice", "slice_id": s["id"]}), "filter.conditions[0]", "data slice"),
        (_group({"kind": "manual_label", "task_id": s["id"], "annotator_id": s["id"]}), "filter.conditions[0]", "not a member"),
    ]
    for node, where, words in cases:
        r = client.post(world.url("/records/search"), json={"filter": node})
        assert r.status_code == 422, (node, r.text)
        problem = r.json()
        assert problem["detail"].startswith(where + ":") and words in problem["detail"], problem
        assert r.headers["content-type"].startswith("application/problem+json")
    # shape errors from the model: arity, unknown kinds, depth and size
    assert client.post(world.url("/records/search"), json={"filter": _group(_attr("key", "BETWEEN", 1))}).status_code == 422
    assert client.post(world.url("/records/search"), json={"filter": _group({"kind": "magic"})}).status_code == 422
    deep: dict[str, Any] = _group()
    for _ in range(6):
        deep = _group(deep)
    r = client.post(world.url("/records/search"), json={"filter": deep})
    assert r.status_code == 422 and "nested more than 5" in r.json()["detail"]
    wide = _group(*[_group(*[_attr("key", "EQUAL", i) for i in range(30)]) for _ in range(4)])
    r = client.post(world.url("/records/search"), json={"filter": wide})
    assert r.status_code == 422 and "more than 100 conditions" in r.json()["detail"]


def test_unique_values(client: TestClient, world: World) -> None:
    r = client.get(world.url("/records/unique-values"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["topic"] == {"values": sorted({d["topic"] for d in world.records.values()}), "more": False}
    assert body["flag"]["values"] == sorted({"true" if d["flag"] else "false" for d in world.records.values()})
    assert set(body) == {"topic", "flag"}  # CATEGORY and BOOLEAN by default
    key = client.get(world.url("/records/unique-values"), params={"attribute": "key"}).json()
    assert key == {"key": {"values": [], "more": True}}  # 60 distinct keys > 20
    r = client.get(world.url("/records/unique-values"), params={"attribute": ["headline", "key"], "max_values": 1000})
    assert set(r.json()) == {"headline", "key"} and len(r.json()["key"]["values"]) == len(world.records)
    assert client.get(world.url("/records/unique-values"), params={"attribute": "nope"}).status_code == 422


def test_other_users_cannot_search(client: TestClient, world: World) -> None:
    from .test_labeling import second_user

    outsider = second_user(client, world.project_id, "outsider@example.org", role="EXPERT")  # the browser: EXPERT and up
    # second_user made them a member; remove the membership by using another project instead
    other = client.post("/api/v1/projects", json={"name": "other"}).json()
    r = client.post(f"/api/v1/projects/{other['id']}/records/search", json={}, headers=outsider)
    assert r.status_code == 404
    r = client.post(world.url("/records/search"), json={}, headers=outsider)
    assert r.status_code == 200 and r.json()["total"] == len(world.records)


def test_vote_read_model_follows_heuristic_writes_and_record_deletes(client: TestClient, world: World) -> None:
    import uuid

    from sqlalchemy import delete, func, select

    from shared_model.db import session_scope
    from shared_model.heuristic_results import ResultBuffer, delete_results, store_session_results
    from shared_model.models import HeuristicVoteSummary, Record

    s = world.sentiment
    nodes = [
        _group({"kind": "no_heuristic_voted", "task_id": s["id"]}),
        _group({"kind": "heuristics_disagree", "task_id": s["id"]}),
        _group({"kind": "heuristics_disagree", "task_id": s["id"], "negate": True}, _attr("flag", "EQUAL", True)),
        _group(
            {"kind": "heuristic", "heuristic_id": world.heuristics["h2"], "mode": "labels", "label_ids": [s["by_name"]["pos"]]}
        ),
        _group({"kind": "heuristic", "heuristic_id": world.heuristics["h3"], "mode": "none"}),
    ]

    def check() -> None:
        world.reload()
        for node in nodes:
            assert set(search_ids(client, world, {"filter": node}, page=50)) == evaluate(world, node), node

    check()
    with session_scope() as session:
        built = session.scalar(
            select(func.count())
            .select_from(HeuristicVoteSummary)
            .where(HeuristicVoteSummary.labeling_task_id == uuid.UUID(s["id"]))
        )
    assert built == len(set().union(*(ids for h in ("h1", "h2", "h3") for ids in world.votes[world.heuristics[h]].values())))
    # a run replaces h1's votes: every record gets "pos"
    pos = uuid.UUID(s["by_name"]["pos"])
    with session_scope() as session:
        delete_results(session, uuid.UUID(world.heuristics["h1"]))
        votes = ResultBuffer()
        votes.add_records(pos, list(world.records))
        store_session_results(session, uuid.UUID(world.project_id), uuid.UUID(s["id"]), uuid.UUID(world.heuristics["h1"]), votes)
    check()
    # a heuristic deleted through the API, then records deleted (the trigger rewrites the vote chunks)
    assert client.delete(world.url(f"/heuristics/{world.heuristics['h1']}")).status_code == 204
    check()
    doomed = sorted(world.records)[:10]
    with session_scope() as session:
        session.execute(delete(Record).where(Record.id.in_(doomed)))
    check()
    assert not set(doomed) & set(world.records)


def test_filter_to_labeling_function_selects_the_same_records(client: TestClient, world: World) -> None:
    filters = [_group(c) for c in attribute_filters()] + [
        _group(
            _attr("topic", "IN", "tech", "sports"), _group(_attr("score", "GREATER", 0), _attr("flag", "EQUAL", True), join="OR")
        ),
        _group(_attr("headline", "CONTAINS", "apple"), negate=True),
        _group(),
    ]
    for node in filters:
        r = client.post(world.url("/records/labeling-function"), json={"filter": node, "label": "pos"})
        assert r.status_code == 200, r.text
        source = r.json()["source_code"]
        scope: dict[str, Any] = {}
        exec(compile(source, "<lf>", "exec"), scope)  # noqa: S102 - the generated source under test
        selected = {rid for rid, data in world.records.items() if scope["lf"](data) == "pos"}
        assert selected == set(search_ids(client, world, {"filter": node}, page=100)), (node, source)
        assert {rid for rid, data in world.records.items() if scope["lf"](data) is None} == set(world.records) - selected
    r = client.post(
        world.url("/records/labeling-function"),
        json={"filter": _group(_attr("topic", "EQUAL", "x"), {"kind": "has_comments"}), "label": "pos"},
    )
    assert r.status_code == 422 and r.json()["detail"].startswith("filter.conditions[1]: a has_comments condition")


def test_search_hits_are_highlighted(client: TestClient, world: World) -> None:
    node = _group(_attr("headline", "CONTAINS", "APPLE"), _attr("topic", "BEGINS_WITH", "s"), join="OR")
    r = client.post(world.url("/records/search"), json={"filter": node, "limit": 50})
    items = r.json()["items"]
    assert items and len(items) == len(evaluate(world, node)) or len(items) == 50
    marked = 0
    for item in items:
        headline, topic = item["data"]["headline"], item["data"]["topic"]
        spans = item["highlights"].get("headline", [])
        assert [headline[a:b].lower() for a, b in spans] == ["apple"] * headline.lower().count("apple")
        assert item["highlights"].get("topic", []) == ([[0, 1]] if topic.lower().startswith("s") else [])
        marked += bool(spans)
    assert marked > 0
    # a negated condition highlights nothing
    negated = client.post(
        world.url("/records/search"), json={"filter": _group(_attr("headline", "CONTAINS", "apple", negate=True))}
    )
    assert all(item["highlights"] == {} for item in negated.json()["items"])
