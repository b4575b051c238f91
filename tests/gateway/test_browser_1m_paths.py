"""The data browser's paths for large projects (issue #17 at 1M records), each compared on real Postgres with the
path it replaces on the same data: substring conditions on TEXT attributes through a per-project trigram index
(migration 0022's ``browser_trigrams``) against the same filters without the index and against Python; unique
values by a skip scan of the attribute's index against the grouping over every record; the progress metric's and
``GET /projects``' manual counts against a count of the label rows."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from shared_model.db import session_scope
from shared_model.settings import get_settings

N = 3000
WORDS = ["Google", "wins", "loses", "apple", "Ünïcode", "50%", "under_score", "a", "ab", "stock"]


def _headline(g: int) -> str | None:
    """Varied values: mixed case, non-ASCII, LIKE's own special characters, short and missing values."""
    if g % 97 == 0:
        return None
    if g % 89 == 0:
        return "ab"
    return f"{WORDS[(g * 7) % 10]} {WORDS[(g * 13) % 10].lower() if g % 2 else WORDS[(g * 13) % 10]} {g}"


@pytest.fixture()
def large(client: TestClient, project: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """A project of N records (TEXT headline, CATEGORY topic) that counts as large (indexes are built for it)."""
    pid = project["id"]
    monkeypatch.setenv("REFINERY_BROWSER_INDEX_MIN_RECORDS", "100")
    get_settings.cache_clear()
    from gateway.domain.browser import attribute_indexes

    attribute_indexes._small.clear()
    records = {}
    with session_scope() as session:
        for pos, (name, kind) in enumerate([("headline", "TEXT"), ("topic", "CATEGORY")]):
            session.execute(
                text(
                    "INSERT INTO attribute (id, project_id, name, data_type, is_primary_key, relative_position, user_created,"
                    " state, visibility, created_at) VALUES (gen_random_uuid(), :p, :n, :k, false, :pos, false, 'UPLOADED',"
                    " 'DO_NOT_HIDE', now())"
                ),
                {"p": pid, "n": name, "k": kind, "pos": pos},
            )
        for g in range(1, N + 1):
            data: dict[str, Any] = {"topic": f"t{g % 5}"}
            if _headline(g) is not None:
                data["headline"] = _headline(g)
            rid = session.execute(
                text("INSERT INTO record (project_id, data, created_at) VALUES (:p, CAST(:d AS jsonb), now()) RETURNING id"),
                {"p": pid, "d": json.dumps(data)},
            ).scalar_one()
            records[int(rid)] = data
        session.execute(text("ANALYZE record"))
    yield {"pid": pid, "records": records}
    attribute_indexes.wait()
    with session_scope() as session:
        for name in session.scalars(text("SELECT relname FROM pg_class WHERE relkind = 'i' AND relname LIKE 'ix\\_ra\\_%'")):
            session.execute(text(f"DROP INDEX IF EXISTS {name}"))
    attribute_indexes._known.clear()
    attribute_indexes._small.clear()
    monkeypatch.undo()
    get_settings.cache_clear()


def _ids(client: TestClient, pid: str, condition: dict[str, Any]) -> list[int]:
    found: list[int] = []
    cursor = None
    while True:
        body = {"filter": {"conditions": [condition]}, "limit": 500, "cursor": cursor, "count": "none"}
        r = client.post(f"/api/v1/projects/{pid}/records/search", json=body)
        assert r.status_code == 200, r.text
        found += [item["id"] for item in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            return found


def _trigram_indexes(pid: str) -> set[str]:
    with session_scope() as session:
        return set(
            session.scalars(
                text(
                    "SELECT c.relname FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid WHERE c.relname LIKE :prefix"
                    " AND i.indisvalid AND pg_get_indexdef(c.oid) LIKE '%browser_trigrams(%'"
                ),
                {"prefix": f"ix\\_ra\\_{uuid.UUID(pid).hex}\\_%"},
            )
        )


CASES: list[tuple[str, list[str], bool]] = [
    ("IN_WC", ["Google wins*", "*loses 1?"], False),
    ("IN_WC", ["google WINS*"], False),
    ("IN_WC", ["Google wins*"], True),
    ("IN_WC", ["*ünïcode*"], False),
    ("IN_WC", ["*a?"], False),  # no literal part of three characters: no index condition
    ("IN_WC", ["*50%*"], False),  # '%' is a wildcard in IN_WC
    ("IN_WC", ["under_score*"], False),
    ("CONTAINS", ["50%"], False),  # literal here
    ("CONTAINS", ["under_score"], False),
    ("CONTAINS", ["Apple"], True),
    ("CONTAINS", ["apple"], False),
    ("BEGINS_WITH", ["stock ab"], False),
    ("ENDS_WITH", ["es 12"], False),
    ("CONTAINS", ["zzz-nowhere"], False),
]


def _python(records: dict[int, dict[str, Any]], op: str, values: list[str], case_sensitive: bool) -> set[int]:
    from gateway.domain.browser.compile import wildcard_regex

    def norm(s: str) -> str:
        return s if case_sensitive else s.lower()

    out = set()
    for rid, data in records.items():
        value = data.get("headline")
        if value is None:
            continue
        v = norm(value)
        if op == "IN_WC":
            hit = any(wildcard_regex(norm(p)).fullmatch(v) for p in values)
        elif op == "CONTAINS":
            hit = norm(values[0]) in v
        elif op == "BEGINS_WITH":
            hit = v.startswith(norm(values[0]))
        else:
            hit = v.endswith(norm(values[0]))
        if hit:
            out.add(rid)
    return out


def test_substring_conditions_through_a_trigram_index_select_the_same_records(client: TestClient, large: dict[str, Any]) -> None:
    from gateway.domain.browser import attribute_indexes

    pid, records = large["pid"], large["records"]
    conditions = [
        {"kind": "attribute", "attribute": "headline", "operator": op, "values": values, "case_sensitive": cs}
        for op, values, cs in CASES
    ]
    # before the index: the conditions scan (and the first substring query starts the index's build)
    before = [_ids(client, pid, c) for c in conditions]
    attribute_indexes.wait()
    assert len(_trigram_indexes(pid)) == 1
    from gateway.domain.browser import compile as compiler

    # the three ways a substring condition is answered with the index there: looked up through it (matches put into
    # the query), common in the project's first records (no lookup), too many matches for a lookup
    for ways in ({"TRIGRAM_COMMON": 10**9}, {}, {"TRIGRAM_COMMON": 10**9, "TRIGRAM_IDS": 0}):
        with pytest.MonkeyPatch.context() as patch:
            for name, value in ways.items():
                patch.setattr(compiler, name, value)
            for (op, values, cs), condition, without in zip(CASES, conditions, before, strict=True):
                expected = _python(records, op, values, cs)
                assert set(without) == expected, (op, values)
                assert _ids(client, pid, condition) == without, (op, values, ways)  # same records, same order
                negated = _ids(client, pid, {**condition, "negate": True})
                assert set(negated) == set(records) - expected, (op, values, ways)
                counted = client.post(
                    f"/api/v1/projects/{pid}/records/count", json={"filter": {"conditions": [condition]}, "count": "exact"}
                )
                assert counted.json()["total"] == len(expected), (op, values, ways)
    assert len(_python(records, *CASES[0])) > 0 and len(_python(records, *CASES[-1])) == 0
    # the index is what answers a rare pattern: the compiled condition holds the ids found, and the lookup reads it
    from sqlalchemy import func, select

    from gateway.domain.browser.compile import ProjectCatalog, compile_filter
    from gateway.domain.browser.filters import FilterGroup
    from shared_model.models import Record

    with session_scope() as session:
        catalog = ProjectCatalog.load(session, uuid.UUID(pid), None)
        group = FilterGroup.model_validate({"conditions": [conditions[0]]})
        query = select(func.count()).select_from(Record).where(compile_filter(catalog, group))
        sql = str(query.compile(session.get_bind(), compile_kwargs={"literal_binds": True}))
        assert catalog.trigrams_applied and "LIKE" not in sql and "ANY" in sql, sql
        session.execute(text("SET LOCAL enable_seqscan = off"))
        lookup = (
            "EXPLAIN SELECT id FROM record WHERE project_id = :p AND browser_trigrams(lower(data ->> 'headline'))"
            " @> browser_trigrams(lower('google wins'))"
        )
        plan = "\n".join(session.scalars(text(lookup), {"p": pid}))
    assert any(name in plan for name in _trigram_indexes(pid)), plan


def test_unique_values_by_skip_scan_equal_the_grouping(
    client: TestClient, large: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from gateway.domain.browser import attribute_indexes, search

    skip_scans: list[int] = []
    real = search._distinct_by_skip_scan

    def counted(*args: Any) -> list[str]:
        skip_scans.append(1)
        return real(*args)

    monkeypatch.setattr(search, "_distinct_by_skip_scan", counted)

    pid, records = large["pid"], large["records"]
    url = f"/api/v1/projects/{pid}/records/unique-values"
    grouped = client.get(url, params={"attribute": ["topic", "headline"], "max_values": 5})
    assert grouped.status_code == 200, grouped.text
    attribute_indexes.wait()  # the first call started the CATEGORY attribute's indexes
    assert not skip_scans  # no index yet: grouped
    with session_scope() as session:
        names = attribute_indexes.existing(session, uuid.UUID(pid))
    assert len(names) == 2, names
    expected = {"topic": {"values": sorted({d["topic"] for d in records.values()}), "more": False}}
    assert grouped.json()["topic"] == expected["topic"]
    for max_values in (5, 4, 1):
        again = client.get(url, params={"attribute": ["topic"], "max_values": max_values}).json()
        with session_scope() as session:
            plain = session.execute(
                text(
                    "SELECT data ->> 'topic' FROM record WHERE project_id = :p AND data ? 'topic' GROUP BY 1"
                    " ORDER BY (data ->> 'topic') COLLATE \"C\""
                ),
                {"p": pid},
            ).scalars()
            values = list(plain)
        more = len(values) > max_values
        assert again["topic"] == {"values": [] if more else values, "more": more}, max_values
    assert len(skip_scans) == 3
    assert grouped.json()["headline"] == {"values": [], "more": True}


def test_manual_counts_read_the_partial_indexes(client: TestClient, project: dict[str, Any]) -> None:
    """The progress metric's and GET /projects' manual counts (their values are tested with the metrics and the
    project summaries) are planned on migration 0022's partial indexes, not over every (record, task) row."""
    from sqlalchemy import func, select

    from shared_model.models import RecordTaskLabel

    pid = uuid.UUID(project["id"])
    task = uuid.uuid4()
    statements = {
        "ix_record_task_label_decided": select(RecordTaskLabel.labeling_task_id, func.count())
        .where(RecordTaskLabel.labeling_task_id.in_([task]), RecordTaskLabel.decided.is_not(None))
        .group_by(RecordTaskLabel.labeling_task_id),
        "ix_record_task_label_manual": select(RecordTaskLabel.project_id, func.count(func.distinct(RecordTaskLabel.record_id)))
        .where(RecordTaskLabel.project_id.in_([pid]), RecordTaskLabel.manual)
        .group_by(RecordTaskLabel.project_id),
    }
    with session_scope() as session:
        session.execute(text("SET LOCAL enable_seqscan = off"))
        session.execute(text("SET LOCAL enable_bitmapscan = off"))
        for index, statement in statements.items():
            sql = str(statement.compile(session.get_bind(), compile_kwargs={"literal_binds": True}))
            plan = "\n".join(session.scalars(text("EXPLAIN " + sql)))
            assert index in plan, plan
