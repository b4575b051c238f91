"""The data browser's read paths on real Postgres: the statement timeout (a 503 problem), count 'auto' (exact when
quick, else the estimate), and the confidence sort read in two parts in index order (same order and pages
as one sort of every record)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from shared_model.db import session_scope
from shared_model.models import Record
from shared_model.settings import get_settings

from .browser_world import World, build_world, evaluate, search_ids
from .test_projects import wait_job

BIG = 60_000


@pytest.fixture()
def settings_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Set REFINERY_* variables for one test; the settings are re-read before and after."""
    get_settings.cache_clear()
    yield monkeypatch
    monkeypatch.undo()
    get_settings.cache_clear()


def _set(env: pytest.MonkeyPatch, **values: int) -> None:
    for name, value in values.items():
        env.setenv(f"REFINERY_{name.upper()}", str(value))
    get_settings.cache_clear()


@pytest.fixture()
def big(client: TestClient, project: dict[str, Any]) -> Iterator[str]:
    """A project of BIG records (a TEXT and a CATEGORY attribute), written in SQL; afterwards the attribute indexes
    the test made are dropped (they outlive the tables' cleanup between tests)."""
    pid = project["id"]
    with session_scope() as session:
        for pos, (name, kind) in enumerate([("body", "TEXT"), ("topic", "CATEGORY")]):
            session.execute(
                text(
                    "INSERT INTO attribute (id, project_id, name, data_type, is_primary_key, relative_position, user_created,"
                    " state, visibility, created_at) VALUES (gen_random_uuid(), :p, :n, :k, false, :pos, false, 'UPLOADED',"
                    " 'DO_NOT_HIDE', now())"
                ),
                {"p": pid, "n": name, "k": kind, "pos": pos},
            )
        session.execute(
            text(
                "INSERT INTO record (project_id, data, created_at) SELECT :p, jsonb_build_object('body',"
                " repeat('word' || (g % 97) || ' ', 20), 'topic', 't' || (g % 7)), now() FROM generate_series(1, :n) AS g"
            ),
            {"p": pid, "n": BIG},
        )
        session.execute(text("ANALYZE record"))
    yield str(pid)
    from gateway.domain.browser import attribute_indexes

    attribute_indexes.wait()
    with session_scope() as session:
        names = session.scalars(text("SELECT relname FROM pg_class WHERE relkind = 'i' AND relname LIKE 'ix\\_ra\\_%'")).all()
        for name in names:
            session.execute(text(f"DROP INDEX IF EXISTS {name}"))
    attribute_indexes._known.clear()


def _any_contains(value: str) -> dict[str, Any]:
    return {"conditions": [{"kind": "attribute", "attribute": None, "operator": "CONTAINS", "values": [value]}]}


def test_statement_timeout_is_a_503_problem(client: TestClient, big: str, settings_env: pytest.MonkeyPatch) -> None:
    url = f"/api/v1/projects/{big}/records"
    body = {"filter": _any_contains("word96 word"), "count": "exact"}
    assert client.post(f"{url}/count", json=body).status_code == 200  # no limit hit at the default
    _set(settings_env, browser_statement_timeout_ms=1)
    r = client.post(f"{url}/count", json=body)
    assert r.status_code == 503, r.text
    problem = r.json()
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "statement timeout (1 ms)" in problem["detail"] and problem["timeout_ms"] == 1
    assert r.headers["retry-after"] == "10"
    assert client.post(f"{url}/search", json={**body, "sort": [{"by": "random", "seed": "s"}]}).status_code == 503
    # 0 turns the limit off
    _set(settings_env, browser_statement_timeout_ms=0)
    assert client.post(f"{url}/count", json=body).json()["total"] == sum(1 for g in range(1, BIG + 1) if g % 97 == 96)


def test_count_auto_is_exact_when_small_or_quick_else_the_estimate(
    client: TestClient, big: str, settings_env: pytest.MonkeyPatch
) -> None:
    url = f"/api/v1/projects/{big}/records"
    topic = {"conditions": [{"kind": "attribute", "attribute": "topic", "operator": "EQUAL", "values": ["t3"]}]}
    exact = sum(1 for g in range(1, BIG + 1) if g % 7 == 3)
    # the default (auto) counts exactly when the count is quick
    _set(settings_env, browser_exact_count_ms=60_000)
    assert client.post(f"{url}/count", json={"filter": topic}).json() == {"total": exact, "total_estimated": False}
    # with a budget the count cannot meet: the planner's estimate, marked as such
    _set(settings_env, browser_exact_count_ms=1)
    found = client.post(f"{url}/count", json={"filter": _any_contains("word5"), "count": "auto"}).json()
    assert found["total_estimated"] is True and found["total"] > 0
    page = client.post(f"{url}/search", json={"filter": _any_contains("word5"), "limit": 3}).json()
    assert page["total_estimated"] is True and len(page["items"]) == 3
    # the request goes on after the estimate: the statement timeout is the browser's again, not the count's budget
    _set(settings_env, browser_exact_count_ms=60_000)
    assert client.post(f"{url}/count", json={"filter": topic}).json() == {"total": exact, "total_estimated": False}
    # 'exact' never estimates
    _set(settings_env, browser_exact_count_ms=1)
    assert client.post(f"{url}/count", json={"filter": topic, "count": "exact"}).json()["total"] == exact


@pytest.fixture()
def world(client: TestClient, project: dict[str, Any]) -> World:
    return build_world(client, project["id"])


def test_confidence_sort_in_two_parts_keeps_one_order(client: TestClient, world: World) -> None:
    task = world.sentiment["id"]
    ws = {r["record_id"]: r["confidence"] for r in world.rla if r["source_type"] == "WEAK_SUPERVISION" and r["task_id"] == task}
    assert 0 < len(ws) < len(world.records)  # both parts are there
    every = set(world.records)
    desc = {"sort": [{"by": "confidence", "task_id": task, "direction": "desc"}]}
    for page in (1, 4, len(ws), len(ws) + 1, 50):  # pages that end inside, at and across the two parts
        ids = search_ids(client, world, desc, page=page)
        assert ids == sorted(every, key=lambda r: (r not in ws, -ws.get(r, 0.0), r)), page
    # with a filter and a second key
    node = {"conditions": [{"kind": "attribute", "attribute": "topic", "operator": "IN", "values": ["tech", "business"]}]}
    body = {"filter": node, "sort": [{"by": "confidence", "task_id": task}, {"by": "attribute", "attribute": "key"}]}
    chosen = evaluate(world, node)
    assert search_ids(client, world, body, page=3) == sorted(
        chosen, key=lambda r: (r not in ws, ws.get(r, 0.0), world.records[r]["key"], r)
    )


def test_confidence_sort_reads_the_index(client: TestClient, world: World) -> None:
    from gateway.domain.browser.compile import ProjectCatalog
    from gateway.domain.browser.search import matching
    from gateway.domain.browser.sort import SortKey, order_by, sort_columns, sorted_from, split_sort

    task = uuid.UUID(world.sentiment["id"])
    keys = [SortKey(by="confidence", task_id=task, direction="desc")]
    with session_scope() as session:
        catalog = ProjectCatalog.load(session, uuid.UUID(world.project_id), None)
        assert split_sort(catalog, keys)
        assert not split_sort(catalog, [SortKey(by="confidence", task_id=uuid.UUID(world.entities["id"]))])
        columns = sort_columns(catalog, keys, "labeled")
        query = sorted_from(select(Record.id).select_from(Record), columns).where(matching(catalog, None))
        sql = query.order_by(*order_by(columns)).limit(21).compile(session.get_bind(), compile_kwargs={"literal_binds": True})
        session.execute(text("SET LOCAL enable_seqscan = off"))  # the fixture is small; what matters is that it can
        session.execute(text("SET LOCAL enable_bitmapscan = off"))
        plan = "\n".join(session.scalars(text("EXPLAIN " + str(sql).replace("%%", "%"))))
    assert "ix_weak_supervision_result_confidence" in plan, plan


def _attribute_indexes(pid: str) -> set[str]:
    from gateway.domain.browser import attribute_indexes

    with session_scope() as session:
        return attribute_indexes.existing(session, uuid.UUID(pid))


def test_large_projects_get_attribute_indexes_that_queries_use(
    client: TestClient, big: str, settings_env: pytest.MonkeyPatch
) -> None:
    from gateway.domain.browser import attribute_indexes

    url = f"/api/v1/projects/{big}/records"
    topic = {"conditions": [{"kind": "attribute", "attribute": "topic", "operator": "IN", "values": ["T3", "t5"]}]}
    exact = sum(1 for g in range(1, BIG + 1) if g % 7 in (3, 5))
    # under the size threshold: no index
    _set(settings_env, browser_index_min_records=BIG + 1)
    assert client.post(f"{url}/count", json={"filter": topic, "count": "exact"}).json()["total"] == exact
    attribute_indexes.wait()
    assert _attribute_indexes(big) == set()
    attribute_indexes._small.clear()
    # at or over it: the first query on the attribute starts its indexes (case-insensitive filters, sorts)
    _set(settings_env, browser_index_min_records=BIG)
    client.post(f"{url}/search", json={"filter": topic, "limit": 1, "count": "none"})
    attribute_indexes.wait()
    built = _attribute_indexes(big)
    assert len(built) == 2, built
    with session_scope() as session:
        sql = "EXPLAIN SELECT count(*) FROM record WHERE project_id = :p AND lower(data ->> 'topic') COLLATE \"C\" = 't3'"
        session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(session.scalars(text(sql), {"p": big}))
    assert any(name in plan for name in built), plan
    # results through the index: the same; a negated condition still selects the records without the value
    assert client.post(f"{url}/count", json={"filter": topic, "count": "exact"}).json()["total"] == exact
    with session_scope() as session:
        session.execute(text("UPDATE record SET data = data - 'topic' WHERE project_id = :p AND id % 1000 = 0"), {"p": big})
    missing = sum(1 for g in range(1, BIG + 1) if g % 1000 == 0)
    negated = {"conditions": [{**topic["conditions"][0], "negate": True}]}
    inner_negated = {"negate": True, "conditions": [{"kind": "group", "join": "OR", "conditions": topic["conditions"]}]}
    counts = [client.post(f"{url}/count", json={"filter": f, "count": "exact"}).json()["total"] for f in (negated, inner_negated)]
    with session_scope() as session:
        still = session.scalar(
            select(text("count(*)"))
            .select_from(Record)
            .where(Record.project_id == uuid.UUID(big), text("data ? 'topic' AND (data ->> 'topic') IN ('t3', 't5')"))
        )
    assert counts == [BIG - still, BIG - still] and still < exact and missing > 0
    # sorting by the attribute: values first (in code-point order), then the records without one
    page = client.post(
        f"{url}/search", json={"sort": [{"by": "attribute", "attribute": "topic", "direction": "desc"}], "limit": 2}
    )
    assert [item["data"]["topic"] for item in page.json()["items"]] == ["t6", "t6"]
    # a deleted project's indexes are dropped by the next build
    deleting = client.delete(f"/api/v1/projects/{big}")
    assert deleting.status_code == 202
    assert wait_job(client, deleting.json()["id"], 120)["state"] == "done"
    other = client.post("/api/v1/projects", json={"name": "other"}).json()["id"]
    with session_scope() as session:
        session.execute(
            text(
                "INSERT INTO attribute (id, project_id, name, data_type, is_primary_key, relative_position, user_created,"
                " state, visibility, created_at) VALUES (gen_random_uuid(), :p, 'n', 'INTEGER', false, 0, false, 'UPLOADED',"
                " 'DO_NOT_HIDE', now())"
            ),
            {"p": other},
        )
        session.execute(
            text(
                "INSERT INTO record (project_id, data, created_at) SELECT :p, jsonb_build_object('n', g), now()"
                " FROM generate_series(1, :n) g"
            ),
            {"p": other, "n": BIG},
        )
        session.execute(text("ANALYZE record"))
    between = {"conditions": [{"kind": "attribute", "attribute": "n", "operator": "BETWEEN", "values": [10, 19]}]}
    body = {"filter": between, "count": "exact"}
    assert client.post(f"/api/v1/projects/{other}/records/count", json=body).json()["total"] == 10
    attribute_indexes.wait()
    assert _attribute_indexes(big) == set() and len(_attribute_indexes(other)) == 1


def _words(value: Any) -> list[str]:
    return [w.lower() for w in re.findall(r"[A-Za-z]+", value)] if isinstance(value, str) else []


def test_full_text_search_with_highlights(client: TestClient, world: World) -> None:
    records = world.records

    def having(rid: int, word: str, attribute: str | None) -> bool:
        values = [records[rid].get(attribute)] if attribute else list(records[rid].values())
        return any(word in _words(v) for v in values)

    cases: list[tuple[dict[str, Any], set[int]]] = [
        ({"query": "apple"}, {r for r in records if having(r, "apple", None)}),
        ({"query": "APPLE", "attribute": "headline"}, {r for r in records if having(r, "apple", "headline")}),
        ({"query": "stock -market"}, {r for r in records if having(r, "stock", None) and not having(r, "market", None)}),
        ({"query": "rises or falls"}, {r for r in records if having(r, "rises", None) or having(r, "falls", None)}),
        ({"query": "sports", "attribute": "topic"}, {r for r in records if having(r, "sports", "topic")}),
    ]
    for condition, expected in cases:
        node = {"conditions": [{"kind": "full_text", **condition}]}
        assert 0 < len(expected) < len(records), condition
        assert set(search_ids(client, world, {"filter": node}, page=40)) == expected, condition
        negated = {"conditions": [{"kind": "full_text", **condition, "negate": True}]}
        assert set(search_ids(client, world, {"filter": negated}, page=40)) == set(records) - expected, condition
    # a phrase: the words next to each other
    phrase = {"conditions": [{"kind": "full_text", "query": '"apple stock"', "attribute": "headline"}]}
    found = set(search_ids(client, world, {"filter": phrase}, page=40))
    assert found == {r for r in records if "apple stock" in " ".join(_words(records[r]["headline"]))}
    # highlights: the query's words (not the negated ones), whole words, any case
    body = {"filter": {"conditions": [{"kind": "full_text", "query": "apple -market"}]}, "limit": 50}
    for item in client.post(world.url("/records/search"), json=body).json()["items"]:
        spans = item["highlights"]["headline"]
        headline = item["data"]["headline"]
        assert spans and all(headline[a:b].lower() == "apple" for a, b in spans)
        assert len(spans) == _words(headline).count("apple")
    # refused: an attribute that is not text, one that does not exist
    for attribute, message in (("score", "full text needs TEXT or CATEGORY"), ("nope", "does not exist")):
        node = {"conditions": [{"kind": "full_text", "query": "x", "attribute": attribute}]}
        r = client.post(world.url("/records/search"), json={"filter": node})
        assert r.status_code == 422 and message in r.json()["detail"], r.text


def test_full_text_on_a_large_project_gets_a_gin_index(client: TestClient, big: str, settings_env: pytest.MonkeyPatch) -> None:
    from gateway.domain.browser import attribute_indexes

    _set(settings_env, browser_index_min_records=BIG)
    attribute_indexes._small.clear()
    url = f"/api/v1/projects/{big}/records"
    node = {"conditions": [{"kind": "full_text", "query": "word13"}]}
    expected = sum(1 for g in range(1, BIG + 1) if g % 97 == 13)
    assert client.post(f"{url}/count", json={"filter": node, "count": "exact"}).json()["total"] == expected
    attribute_indexes.wait()
    built = _attribute_indexes(big)
    assert len(built) == 1, built
    from gateway.domain.browser.compile import text_document, text_query

    with session_scope() as session:
        query = (
            select(text("count(*)"))
            .select_from(Record)
            .where(Record.project_id == uuid.UUID(big), text_document(None).op("@@")(text_query("word13")))
        )
        sql = str(query.compile(session.get_bind(), compile_kwargs={"literal_binds": True}))
        plan = "\n".join(session.scalars(text("EXPLAIN " + sql.replace("%%", "%"))))
    assert any(name in plan for name in built), plan
    assert client.post(f"{url}/count", json={"filter": node, "count": "exact"}).json()["total"] == expected


def test_bulk_delete_small_result_at_once(client: TestClient, world: World) -> None:
    node = {"conditions": [{"kind": "attribute", "attribute": "topic", "operator": "EQUAL", "values": ["tech"]}]}
    chosen = evaluate(world, node)
    assert 0 < len(chosen) < len(world.records)
    r = client.post(world.url("/records/bulk-delete"), json={"filter": node})
    assert r.status_code == 200, r.text
    assert r.json() == {"records": len(chosen), "job": None}
    assert set(search_ids(client, world, {}, page=100)) == set(world.records) - chosen
    with session_scope() as session:
        left = session.scalar(
            text("SELECT count(*) FROM record_label_association WHERE record_id = ANY(:ids)"), {"ids": list(chosen)}
        )
        comments = session.scalar(
            text("SELECT count(*) FROM comment WHERE target_type = 'RECORD' AND target_id = ANY(:ids)"),
            {"ids": [str(i) for i in chosen]},
        )
    assert left == 0 and comments == 0
    # the vote read model follows: no heuristic vote names a deleted record
    voted = {"conditions": [{"kind": "heuristic", "heuristic_id": next(iter(world.heuristics.values()))}]}
    assert not set(search_ids(client, world, {"filter": voted}, page=100)) & chosen
    # nothing selected: nothing to do
    assert client.post(world.url("/records/bulk-delete"), json={"filter": node}).json() == {"records": 0, "job": None}


def test_bulk_delete_needs_confirmation_and_a_job_when_large(client: TestClient, big: str) -> None:
    from .test_projects import wait_job

    url = f"/api/v1/projects/{big}/records"

    def topics(*values: str) -> dict[str, Any]:
        return {"conditions": [{"kind": "attribute", "attribute": "topic", "operator": "IN", "values": list(values)}]}

    t3 = sum(1 for g in range(1, BIG + 1) if g % 7 == 3)
    refused = client.post(f"{url}/bulk-delete", json={"filter": topics("t3")})
    assert refused.status_code == 409 and refused.json()["affected"] == t3 and f"confirm_count={t3}" in refused.json()["detail"]
    wrong = client.post(f"{url}/bulk-delete", json={"filter": topics("t3"), "confirm_count": t3 - 1})
    assert wrong.status_code == 409
    assert client.post(f"{url}/count", json={"filter": topics("t3"), "count": "exact"}).json()["total"] == t3  # nothing deleted
    done = client.post(f"{url}/bulk-delete", json={"filter": topics("t3"), "confirm_count": t3})
    assert done.status_code == 200 and done.json() == {"records": t3, "job": None}
    many = sum(1 for g in range(1, BIG + 1) if g % 7 in (4, 5))
    assert many > 10_000
    started = client.post(f"{url}/bulk-delete", json={"filter": topics("t4", "t5"), "confirm_count": many})
    assert started.status_code == 202, started.text
    body = started.json()
    assert body["records"] == many and body["job"]["kind"] == "records_delete"
    job = wait_job(client, body["job"]["id"], 180)
    assert job["state"] == "done" and job["result"] == {"deleted_records": many}
    left = client.post(f"{url}/count", json={"count": "exact"}).json()["total"]
    assert left == BIG - t3 - many
    assert client.post(f"{url}/count", json={"filter": topics("t3", "t4", "t5"), "count": "exact"}).json()["total"] == 0


def test_count_auto_survives_a_late_savepoint_release(client: TestClient, world: World, settings_env: pytest.MonkeyPatch) -> None:
    """Issue #17's 500s of count under load: the exact count finished within its budget, but Postgres started the
    RELEASE SAVEPOINT after the budget (a CPU-starved server), cancelled it, and the aborted transaction failed the
    rest of the request. Here the release is made late on purpose (a pg_sleep before it, on the real engine)."""
    from sqlalchemy import event

    from shared_model.db import get_engine

    def late(conn: Any, name: Any, context: Any = None) -> None:
        conn.exec_driver_sql("SELECT pg_sleep(1.5)")

    body = {"filter": {"conditions": [{"kind": "manual_label", "task_id": world.sentiment["id"]}]}, "count": "auto"}
    _set(settings_env, browser_exact_count_ms=1000)
    expected = client.post(world.url("/records/count"), json={**body, "count": "exact"}).json()["total"]
    event.listen(get_engine(), "release_savepoint", late)
    try:
        r = client.post(world.url("/records/count"), json=body)
        page = client.post(world.url("/records/search"), json={**body, "limit": 2})
    finally:
        event.remove(get_engine(), "release_savepoint", late)
    assert r.status_code == 200, r.text
    assert r.json() == {"total": expected, "total_estimated": False}
    assert page.status_code == 200 and page.json()["total"] == expected, page.text
