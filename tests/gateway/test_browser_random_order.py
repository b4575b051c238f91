"""The data browser's random order: the project's fixed shuffle (``hashint8(id)``) rotated to the seed's offset, read
from the project's shuffle index (built on first use for a large project, like the attribute indexes) in two range
scans. Compared with the same order computed in Python over the keys Postgres gives; paging across the wrap,
descending, a later key, labeling sessions, every write path's records, and the plan at a size where sorting every
record would be the alternative."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, text

from gateway.domain.browser.sort import seed_offset
from shared_model.db import get_engine, session_scope

from .browser_world import World, build_world, evaluate, search_ids
from .test_snapshot_export import download
from .test_snapshot_import import import_ok
from .upload_helpers import upload_ok

API = "/api/v1/projects"


@pytest.fixture()
def world(client: TestClient, project: dict[str, Any]) -> World:
    return build_world(client, project["id"], n=90)


def keys_of(record_ids: set[int] | list[int]) -> dict[int, int]:
    with session_scope() as session:
        rows = session.execute(text("SELECT id, hashint8(id) FROM record WHERE id = ANY(:ids)"), {"ids": list(record_ids)})
        return {int(r[0]): int(r[1]) for r in rows}


def expected_order(keys: dict[int, int], seed: str, descending: bool = False) -> list[int]:
    """The seed's order: keys at or after the offset, then (wrapping) those before it; ties by id."""
    offset = seed_offset(seed)
    ascending = sorted(keys, key=lambda r: ((keys[r] - offset) % 2**32, r))
    return ascending[::-1] if descending else ascending


def wrapping_seed(keys: dict[int, int]) -> str:
    """A seed whose offset falls inside the records' keys (so both parts of the order have records)."""
    for i in range(1000):
        seed = f"seed{i}"
        below = sum(1 for k in keys.values() if k < seed_offset(seed))
        if len(keys) // 4 < below < 3 * len(keys) // 4:
            return seed
    raise AssertionError("no seed splits the records")


def test_random_order_is_the_seeds_rotation_of_the_shuffle_on_every_page(client: TestClient, world: World) -> None:
    keys = keys_of(set(world.records))
    seed = wrapping_seed(keys)
    for descending in (False, True):
        sort = [{"by": "random", "seed": seed, "direction": "desc" if descending else "asc"}]
        expected = expected_order(keys, seed, descending)
        for page in (1, 7, 90, 200):
            assert search_ids(client, world, {"sort": sort}, page=page) == expected, (descending, page)
    # another seed: the same records, another order; a seed is stable
    other = search_ids(client, world, {"sort": [{"by": "random", "seed": "zzz9999"}]}, page=13)
    assert sorted(other) == sorted(keys) and other == expected_order(keys, "zzz9999") != expected_order(keys, seed)
    # with a filter: the filter's records in the same order
    node = {"conditions": [{"kind": "attribute", "attribute": "topic", "operator": "IN", "values": ["sports", "tech"]}]}
    chosen = evaluate(world, node)
    assert 0 < len(chosen) < len(keys)
    found = search_ids(client, world, {"filter": node, "sort": [{"by": "random", "seed": seed}]}, page=4)
    assert found == [r for r in expected_order(keys, seed) if r in chosen]


def test_random_after_another_key_and_in_labeling_sessions(client: TestClient, world: World) -> None:
    keys = keys_of(set(world.records))
    seed = wrapping_seed(keys)
    offset = seed_offset(seed)
    sort = [{"by": "attribute", "attribute": "topic"}, {"by": "random", "seed": seed}]
    expected = sorted(keys, key=lambda r: (world.records[r]["topic"].encode(), (keys[r] - offset) % 2**32, r))
    assert search_ids(client, world, {"sort": sort}, page=6) == expected
    # a labeling session of a filter result keeps the order the pages show (its ids come from one sort)
    for direction in ("asc", "desc"):
        random_sort = [{"by": "random", "seed": seed, "direction": direction}]
        made = client.post(world.url("/labeling-sessions"), json={"filter": None, "sort": random_sort})
        assert made.status_code == 201, made.text
        window = client.get(world.url(f"/labeling-sessions/{made.json()['id']}/records"), params={"limit": 1000}).json()
        assert window["record_ids"] == search_ids(client, world, {"sort": random_sort}, page=11)


def test_records_of_every_write_path_are_in_the_order_and_an_edit_keeps_their_place(
    client: TestClient, project: dict[str, Any]
) -> None:
    pid = project["id"]
    rows = "".join(f"{i},Review {i} of the shop\n" for i in range(40))
    upload_ok(client, pid, "reviews.csv", b"key,text\n" + rows.encode())
    url = f"{API}/{pid}/records/search"

    def every(project_id: str, page: int) -> list[int]:
        found: list[int] = []
        cursor = None
        while True:
            body = {"sort": [{"by": "random", "seed": "s1"}], "limit": page, "cursor": cursor}
            out = client.post(f"{API}/{project_id}/records/search", json=body).json()
            found += [item["id"] for item in out["items"]]
            cursor = out["next_cursor"]
            if cursor is None:
                return found

    uploaded = every(pid, 9)
    assert len(uploaded) == 40 and uploaded == expected_order(keys_of(uploaded), "s1")
    # an edit changes values, not the record's place
    first = client.post(url, json={"limit": 1}).json()["items"][0]
    edited = client.patch(f"{API}/{pid}/records/{first['id']}", json={"values": {"text": "Now another text"}})
    assert edited.status_code == 200, edited.text
    assert every(pid, 9) == uploaded
    # records of a snapshot import (a new project: new records, each in the order once)
    _, content, _ = download(client, pid)
    copy = import_ok(client, "export.zip", content, name="copy")["result"]["project_id"]
    imported = every(copy, 7)
    assert len(imported) == 40 and imported == expected_order(keys_of(imported), "s1")
    assert not set(imported) & set(uploaded)


BIG = 30_000


@pytest.fixture()
def big(client: TestClient, project: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A project of BIG records, large enough for its shuffle index (the threshold lowered to 1,000); the indexes
    the test made are dropped afterwards (they outlive the tables' cleanup between tests)."""
    from gateway.domain.browser import attribute_indexes
    from shared_model.settings import get_settings

    monkeypatch.setenv("REFINERY_BROWSER_INDEX_MIN_RECORDS", "1000")
    get_settings.cache_clear()
    pid = project["id"]
    with session_scope() as session:
        session.execute(
            text(
                "INSERT INTO attribute (id, project_id, name, data_type, is_primary_key, relative_position, user_created,"
                " state, visibility, created_at) VALUES (gen_random_uuid(), :p, 'topic', 'CATEGORY', false, 0, false,"
                " 'UPLOADED', 'DO_NOT_HIDE', now())"
            ),
            {"p": pid},
        )
        session.execute(
            text(
                "INSERT INTO record (project_id, data, created_at) SELECT :p, jsonb_build_object('topic', 't' || (g % 10)),"
                " now() FROM generate_series(1, :n) AS g"
            ),
            {"p": pid, "n": BIG},
        )
        session.execute(text("ANALYZE record"))
    yield pid
    attribute_indexes.wait()
    with session_scope() as session:
        names = session.scalars(text("SELECT relname FROM pg_class WHERE relkind = 'i' AND relname LIKE 'ix\\_ra\\_%'")).all()
        for name in names:
            session.execute(text(f"DROP INDEX IF EXISTS {name}"))
    attribute_indexes._known.clear()
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.fixture()
def statements() -> Iterator[list[tuple[str, Any]]]:
    """The SQL statements (with parameters) the gateway runs meanwhile."""
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        seen.append((statement, parameters))

    engine = get_engine()
    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def _plan(statement: str, parameters: Any) -> dict[str, Any]:
    with get_engine().connect() as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        cursor = raw.cursor()
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters)
        plan = cursor.fetchone()[0]
        cursor.close()
    return dict((plan if isinstance(plan, list) else json.loads(plan))[0]["Plan"])


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def test_a_page_reads_the_shuffle_index_up_to_the_pages_end_at_any_depth(
    client: TestClient, big: str, statements: list[tuple[str, Any]]
) -> None:
    from gateway.domain.browser import attribute_indexes

    url = f"{API}/{big}/records/search"
    body: dict[str, Any] = {"sort": [{"by": "random", "seed": "deep"}], "limit": 20, "count": "none"}
    first = [item["id"] for item in client.post(url, json=body).json()["items"]]  # starts the shuffle index's build
    attribute_indexes.wait()
    with session_scope() as session:
        session.execute(text("ANALYZE record"))
        built = session.scalars(
            text("SELECT indexdef FROM pg_indexes WHERE indexname LIKE 'ix\\_ra\\_%' AND indexdef LIKE '%hashint8%'")
        ).all()
    assert len(built) == 1 and f"project_id = '{big}'" in built[0], built
    cursor = None
    for page in range(30):  # 30 pages deep
        out = client.post(url, json={**body, "cursor": cursor}).json()
        assert page or [item["id"] for item in out["items"]] == first  # the same order with the index as without
        cursor = out["next_cursor"]
    statements.clear()
    last = client.post(url, json={**body, "cursor": cursor}).json()
    assert len(last["items"]) == 20
    pages = [(s, p) for s, p in statements if "hashint8" in s and "ORDER BY" in s]
    assert pages, [s for s, _ in statements]
    for statement, parameters in pages:
        nodes = list(_nodes(_plan(statement, parameters)))
        scans = [n for n in nodes if str(n.get("Index Name", "")).startswith("ix_ra_")]
        assert scans, nodes
        assert not any(n["Node Type"] == "Sort" for n in nodes), nodes  # no sort of every record
        # the cursor bounds the scan: it reads about one page, not the 600 records before it
        assert sum(n["Actual Rows"] + n.get("Rows Removed by Filter", 0) for n in scans) <= 25, scans
    # a selective filter: the same order (the planner may sort its few records)
    node = {"conditions": [{"kind": "attribute", "attribute": "topic", "operator": "EQUAL", "values": ["t3"]}]}
    found: list[int] = []
    cursor = None
    while True:
        out = client.post(url, json={**body, "filter": node, "limit": 500, "cursor": cursor}).json()
        found += [item["id"] for item in out["items"]]
        cursor = out["next_cursor"]
        if cursor is None:
            break
    with session_scope() as session:
        ids = session.scalars(text("SELECT id FROM record WHERE project_id = :p AND data ->> 'topic' = 't3'"), {"p": big}).all()
    assert len(found) == len(ids) == BIG // 10
    assert found == expected_order(keys_of(found), "deep")
