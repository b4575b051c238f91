"""Data-browser benchmark: filter + sort queries, counts, unique values and every metric through HTTP, on a project
of N records (default 1,000,000: two text, two numeric and one category attribute), two tasks, 20 heuristics, a
weak-supervision run on every record and three annotators on 10 % of the records.

Each query runs ``--reps`` times (default 20) through a real gateway process; the same filters also run as SQL
without the read model (the vote conditions unnesting every vote chunk, as today's schema allows), ``--baseline-reps``
times. A new weak-supervision run (migration 0023) is measured by the weak supervisor's own writer: ``ws_write_1m_s``
(its version's rows, chunk transactions nobody reads, scaled to 1M), ``ws_switch_ms`` (the one-row switch that makes
them visible; ``ws_replace_1m_s`` is that switch in seconds), ``ws_gc_1m_s`` (the superseded version collected in short
transactions); ``ws_refresh_differ_s`` and ``ws_refresh_confusion_matrix_s`` the job's refresh after the switch (the
task's "manual and WS differ" flags and its confusion matrix computed once, so the first request after a run reads
them: ``ws_differ_first_query_after_switch_ms``, ``metrics_after_switch_ms``); ``ws_replace_old_path_1m_s`` is the
path before it (delete a task's label rows, insert one per record, in one transaction; rolled back) in the same run.

Run: ``.venv/bin/python benchmarks/data_browser.py [--records N] [--reps 20]``. The last line is JSON.

One script (over 400 lines): building the project, the queries and the SQL baseline share one world and one run's
figures; the helpers every benchmark uses are in ``common.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psycopg2

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import libpq_dsn, start_service, throwaway_database  # noqa: E402
from upload import api_token, start_gateway  # noqa: E402

WORDS = ["market", "stock", "rises", "falls", "apple", "google", "sports", "team", "wins", "loses", "election", "vote"]
TOPICS = [f"topic{i}" for i in range(12)]


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def login(url: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=600)
    client.headers["Authorization"] = f"Bearer {api_token(url)}"
    return client


def ok(response: httpx.Response) -> Any:
    if response.status_code >= 300:
        raise RuntimeError(f"{response.request.method} {response.request.url}: {response.status_code} {response.text}")
    return response.json() if response.content else None


def build(client: httpx.Client, dsn: str, records: int) -> dict[str, Any]:
    """The project (setup, not timed): records, attributes and votes written in SQL, tasks and heuristics via API."""
    project = ok(client.post("/api/v1/projects", json={"name": "data browser benchmark"}))
    pid = project["id"]
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    cur = conn.cursor()
    for pos, (name, kind) in enumerate(
        [
            ("key", "INTEGER"),
            ("headline", "TEXT"),
            ("body", "TEXT"),
            ("score", "FLOAT"),
            ("views", "INTEGER"),
            ("topic", "CATEGORY"),
        ]
    ):
        cur.execute(
            "INSERT INTO attribute (id, project_id, name, data_type, is_primary_key, relative_position, user_created, state,"
            " visibility, created_at) VALUES (gen_random_uuid(), %s, %s, %s, %s, %s, false, 'UPLOADED', 'DO_NOT_HIDE', now())",
            (pid, name, kind, pos == 0, pos),
        )
    words = "ARRAY[" + ",".join(f"'{w}'" for w in WORDS) + "]"
    topics = "ARRAY[" + ",".join(f"'{t}'" for t in TOPICS) + "]"
    started = time.perf_counter()
    cur.execute(
        "INSERT INTO record (project_id, data, created_at) SELECT %s, jsonb_build_object("
        f" 'key', g, 'headline', initcap(({words})[1 + (g * 7) %% 12]) || ' ' || ({words})[1 + (g * 13) %% 12] || ' ' || g,"
        f" 'body', repeat(({words})[1 + (g * 17) %% 12] || ' ' || ({words})[1 + (g * 19) %% 12] || ' ', 8),"
        f" 'score', round(((g * 7919) %% 10000) / 100.0, 2), 'views', (g * 31) %% 100000, 'topic', ({topics})[1 + g %% 12]),"
        " now() FROM generate_series(1, CAST(%s AS bigint)) AS g",
        (pid, records),
    )
    log(f"{records} records in {time.perf_counter() - started:.1f} s")
    tasks = []
    for name in ("sentiment", "urgency"):
        body = {"name": name, "task_type": "MULTICLASS_CLASSIFICATION", "labels": [{"name": n} for n in ("a", "b", "c")]}
        tasks.append(ok(client.post(f"/api/v1/projects/{pid}/labeling-tasks", json=body)))
    heuristics: list[dict[str, Any]] = []
    for i in range(20):
        task = tasks[i % 2]
        body = {"labeling_task_id": task["id"], "name": f"h{i}", "type": "PRE_COMPUTED"}
        heuristics.append(ok(client.post(f"/api/v1/projects/{pid}/heuristics", json=body)) | {"task": task})
    started = time.perf_counter()
    for i, h in enumerate(heuristics):
        labels = [label["id"] for label in h["task"]["labels"]]
        cur.execute(
            "INSERT INTO heuristic_result (project_id, labeling_task_id, source_id, label_id, record_ids, first_record_id,"
            " last_record_id) SELECT %s, %s, %s, (CAST(%s AS uuid[]))[1 + ((r.id * %s) %% 3)], array_agg(r.id ORDER BY r.id),"
            " min(r.id), max(r.id) FROM record r WHERE r.project_id = %s AND ((r.id * %s + %s) %% 10) < 3"
            " GROUP BY 4, r.id / 100000",
            (pid, h["task"]["id"], h["id"], labels, 3 + i, pid, 7 + 2 * i, i),
        )
    log(f"votes of 20 heuristics in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    for task in tasks:
        ws_labels(cur, pid, task)
    log(f"weak-supervision labels in {time.perf_counter() - started:.1f} s")
    annotators = []
    for i in range(3):
        email = f"annotator{i}@example.org"
        ok(client.post("/api/v1/users", json={"email": email, "password": "annotator-password", "role": "ANNOTATOR"}))
        ok(client.post(f"/api/v1/projects/{pid}/members", json={"email": email, "role": "ANNOTATOR"}))
        cur.execute("SELECT id FROM app_user WHERE email = %s", (email,))
        annotators.append(str(cur.fetchone()[0]))
    task = tasks[0]
    labels = [label["id"] for label in task["labels"]]
    cur.execute(
        "INSERT INTO record_label_association (id, project_id, record_id, labeling_task_id, label_id, source_type, return_type,"
        " confidence, created_by, is_gold_star, is_valid_manual_label, created_at)"
        " SELECT gen_random_uuid(), %s, r.id, %s, (CAST(%s AS uuid[]))[1 + (r.id * 5) %% 3], 'MANUAL', 'RETURN', 1.0,"
        " (CAST(%s AS uuid[]))[1 + r.id %% 3], false, true, now() FROM record r WHERE r.project_id = %s AND r.id %% 10 = 0",
        (pid, task["id"], labels, annotators, pid),
    )
    cur.execute(
        "INSERT INTO comment (id, project_id, target_type, target_id, body, is_private, created_at, updated_at)"
        " SELECT gen_random_uuid(), %s, 'RECORD', r.id::text, 'look', false, now(), now() FROM record r"
        " WHERE r.project_id = %s AND r.id %% 100 = 7",
        (pid, pid),
    )
    cur.execute("ANALYZE")
    conn.close()
    return {"project_id": pid, "tasks": tasks, "heuristics": heuristics, "annotators": annotators}


def ws_labels(cur: Any, pid: str, task: dict[str, Any]) -> None:
    """A weak-supervision run's labels on every record, as the task's current version (migration 0023; setup)."""
    labels = [label["id"] for label in task["labels"]]
    version = str(uuid.uuid4())
    cur.execute(
        "INSERT INTO weak_supervision_version (id, labeling_task_id, project_id) VALUES (%s, %s, %s)", (version, task["id"], pid)
    )
    cur.execute(
        "INSERT INTO weak_supervision_current (labeling_task_id, version_id) VALUES (%s, %s)"
        " ON CONFLICT (labeling_task_id) DO UPDATE SET version_id = EXCLUDED.version_id",
        (task["id"], version),
    )
    cur.execute(
        "INSERT INTO weak_supervision_result (version_id, record_id, labeling_task_id, project_id, label_ids, confidences,"
        " weak, confidence) SELECT %s, r.id, %s, %s, ARRAY[r.l], ARRAY[r.c], ARRAY[r.l::text || ':-1:-1'], r.c FROM ("
        " SELECT r.id, (CAST(%s AS uuid[]))[1 + (r.id * 11) %% 3] AS l, ((r.id * 37) %% 1000) / 1000.0::float8 AS c"
        " FROM record r WHERE r.project_id = %s) r",
        (version, task["id"], pid, labels, pid),
    )


def ws_replace_old_path_seconds(dsn: str, pid: str, task: dict[str, Any], records: int) -> float:
    """The write path before migration 0023, in today's schema: delete a task's weak-supervision rows in
    record_label_association and insert one per record, in one transaction (scaled to 1M). The rows to delete are put
    there first (not timed, the trigger that moves them into a version disabled); everything is rolled back."""
    labels = [label["id"] for label in task["labels"]]
    insert = (
        "INSERT INTO record_label_association (id, project_id, record_id, labeling_task_id, label_id, source_type, return_type,"
        " confidence, is_gold_star, is_valid_manual_label, created_at)"
        " SELECT gen_random_uuid(), %s, r.id, %s, (CAST(%s AS uuid[]))[1 + (r.id * {k}) %% 3], 'WEAK_SUPERVISION', 'RETURN',"
        " ((r.id * 37) %% 1000) / 1000.0, false, false, now() FROM record r WHERE r.project_id = %s"
    )
    conn = psycopg2.connect(dsn)
    try:
        cur = conn.cursor()
        cur.execute("ALTER TABLE record_label_association DISABLE TRIGGER weak_supervision_divert")
        cur.execute(insert.format(k=11), (pid, task["id"], labels, pid))
        started = time.perf_counter()
        cur.execute(
            "DELETE FROM record_label_association WHERE labeling_task_id = %s AND source_type = 'WEAK_SUPERVISION'", (task["id"],)
        )
        cur.execute(insert.format(k=13), (pid, task["id"], labels, pid))
        elapsed = time.perf_counter() - started
        conn.rollback()  # the labels (and the trigger) stay as they were
        return elapsed * 1_000_000 / records
    finally:
        conn.close()


SIMILARITY_DIMS = 64


def similarity_embedding(dsn: str, world: dict[str, Any], search_url: str, vectors: int) -> dict[str, Any]:
    """An attribute-level embedding of ``headline`` over the first ``vectors`` records, indexed by the real neural
    search service: deterministic synthetic vectors (a centre per topic plus seeded noise, unit length), because
    encoding 1M texts with the real model would take hours on two cores. Setup, not timed (the indexing is logged)."""
    from shared_model.db import session_scope
    from shared_model.models import Embedding, EmbeddingType, RunState
    from shared_model.service import service_headers
    from shared_model.storage import EmbeddingArtifacts, get_storage

    conn = psycopg2.connect(dsn)
    with conn.cursor() as cur:
        cur.execute(
            "SELECT id, data->>'topic' FROM record WHERE project_id = %s ORDER BY id LIMIT %s", (world["project_id"], vectors)
        )
        rows = cur.fetchall()
        cur.execute("SELECT id FROM attribute WHERE project_id = %s AND name = 'headline'", (world["project_id"],))
        attribute_id = cur.fetchone()[0]
    conn.close()
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    rng = np.random.default_rng(17)
    centres = rng.normal(size=(len(TOPICS), SIMILARITY_DIMS)).astype(np.float32)
    topic = np.array([TOPICS.index(r[1]) for r in rows])
    matrix = centres[topic] + 0.8 * rng.normal(size=(len(ids), SIMILARITY_DIMS)).astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    with session_scope() as session:
        embedding = Embedding(
            project_id=uuid.UUID(world["project_id"]),
            attribute_id=attribute_id,
            name="bench-similarity",
            type=EmbeddingType.ON_ATTRIBUTE,
            state=RunState.FINISHED,
            model="synthetic",
            platform="benchmark",
            dimensions=SIMILARITY_DIMS,
        )
        session.add(embedding)
        session.flush()
        embedding_id = embedding.id
    artifacts = EmbeddingArtifacts(get_storage(), embedding_id)
    started = time.perf_counter()
    client = httpx.Client(base_url=search_url, headers=service_headers(), timeout=600)
    for seq, at in enumerate(range(0, len(ids), 10_000), start=1):
        key = artifacts.chunk_key(seq)
        get_storage().put_arrays(key, record_ids=ids[at : at + 10_000], vectors=matrix[at : at + 10_000])
        client.post(f"/embeddings/{embedding_id}/chunks", json={"keys": [key]}).raise_for_status()
        artifacts.mark_done(key)
    client.post(f"/embeddings/{embedding_id}/finalize").raise_for_status()
    while not client.get(f"/embeddings/{embedding_id}").json()["optimized"]:
        time.sleep(0.5)
    log(f"similarity embedding: {len(ids)} vectors indexed by neural search in {time.perf_counter() - started:.1f} s")
    return {"embedding_id": str(embedding_id), "similar_anchor": int(ids[len(ids) // 2])}


def ws_new_run(db_url: str, dsn: str, task: dict[str, Any], records: int) -> dict[str, float]:
    """A new weak-supervision run's labels by the weak supervisor's own writer (migration 0023): the version's rows in
    chunk transactions nobody reads (``ws_write_1m_s``, scaled to 1M), the one-row switch that makes them current
    (``ws_switch_ms``, not scaled: it does not depend on the number of records), and the garbage collection of the
    superseded version in short transactions (``ws_gc_1m_s``, scaled; ``ws_gc_max_transaction_ms``)."""
    import numpy as np

    os.environ["DATABASE_URL"] = db_url
    os.environ["REFINERY_DATABASE_URL"] = db_url
    from shared_model.settings import get_settings

    get_settings.cache_clear()
    from shared_model import manual_vs_weak
    from shared_model import weak_supervision_results as weak_results
    from shared_model.db import new_session, session_scope
    from weak_supervisor.store import load_task, write_weak_labels

    task_id = uuid.UUID(task["id"])
    with session_scope() as session:
        data = load_task(session, task_id, [])  # the records and labels (no heuristic votes needed to write)
        old = weak_results.current_version(session, task_id)
        version = uuid.uuid4()
        weak_results.begin_version(session, task_id, version)
    n = len(data.record_ids)
    rows = np.arange(n, dtype=np.int64)
    labels = (data.record_ids * 13) % 3
    confidence = ((data.record_ids * 41) % 1000) / 1000.0
    started = time.perf_counter()
    written = write_weak_labels(data, version, rows, labels, confidence)
    write_s = time.perf_counter() - started
    assert written == n, (written, n)
    started = time.perf_counter()
    with session_scope() as session:
        weak_results.switch_version(session, task_id, version)
    switch_ms = (time.perf_counter() - started) * 1000
    # as the job does next: the differ flags and the confusion matrix of the new labels, kept for the first reader
    refresh = manual_vs_weak.refresh_after_switch(new_session, task_id, version)
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:  # readers see the new run
        cur.execute("SELECT count(*) FROM weak_supervision_label WHERE labeling_task_id = %s", (task["id"],))
        assert cur.fetchone()[0] == n
        cur.execute("SELECT count(*) FROM weak_supervision_result WHERE version_id = %s", (str(old),))
        superseded = int(cur.fetchone()[0])
    batches: list[float] = []

    def one_batch() -> Any:  # collect_garbage's transactions, timed one by one
        session = new_session()
        original = session.commit

        def timed_commit() -> None:
            original()
            batches.append((time.perf_counter() - begun[0]) * 1000)

        begun = [time.perf_counter()]
        session.commit = timed_commit  # type: ignore[method-assign]
        return session

    started = time.perf_counter()
    removed = weak_results.collect_garbage(one_batch, task_id)
    gc_s = time.perf_counter() - started
    assert removed == superseded, (removed, superseded)
    return {
        "ws_write_1m_s": round(write_s * 1_000_000 / records, 1),
        "ws_switch_ms": round(switch_ms, 1),
        "ws_gc_1m_s": round(gc_s * 1_000_000 / records, 1),
        "ws_gc_max_transaction_ms": round(max(batches), 1) if batches else 0.0,
        "ws_write_records_per_s": round(n / write_s),
        # after the switch, not scaled (they depend on the manually labeled records): the job's refresh of the
        # differ flags and of the confusion matrix, each its own transaction while readers see the new labels (the
        # figures reported are those of the task with manual labels)
        "ws_refresh_differ_s": refresh.get("differ_s", 0.0),
        "ws_refresh_confusion_matrix_s": refresh.get("confusion_matrix_s", 0.0),
    }


PAGES = "pages_before"  # in a query's body: time the page after this many pages (followed by cursor, not timed)


def cursor_after(client: Any, base: str, body: dict[str, Any]) -> str | None:
    """The cursor of the page after ``body[PAGES]`` pages of 20 (None: the first page)."""
    cursor = None
    for _ in range(body.get(PAGES, 0)):
        search = {k: v for k, v in body.items() if k != PAGES}
        cursor = ok(client.post(f"{base}/records/search", json={**search, "limit": 20, "count": "none", "cursor": cursor}))[
            "next_cursor"
        ]
    return cursor


def queries(world: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    t0, t1 = world["tasks"]
    a, b = t0["labels"][0]["id"], t0["labels"][1]["id"]
    h0 = world["heuristics"][0]["id"]

    def attr(name: str | None, op: str, *values: Any) -> dict[str, Any]:
        return {"kind": "attribute", "attribute": name, "operator": op, "values": list(values)}

    def g(*conditions: dict[str, Any], join: str = "AND") -> dict[str, Any]:
        return {"conditions": list(conditions), "join": join}

    similar_to = {"embedding_id": world.get("embedding_id"), "record_id": world.get("similar_anchor"), "top_k": 100}
    similar = {"kind": "similar", **similar_to}

    return [
        ("all records, by id", {"filter": None}),
        ("category EQUAL", {"filter": g(attr("topic", "EQUAL", "topic3"))}),
        ("text CONTAINS (case-insensitive)", {"filter": g(attr("headline", "CONTAINS", "apple"))}),
        ("numeric BETWEEN", {"filter": g(attr("score", "BETWEEN", 10, 12.5))}),
        ("text IN_WC", {"filter": g(attr("headline", "IN_WC", "Google wins*", "*loses 1?"))}),
        ("any attribute CONTAINS", {"filter": g(attr(None, "CONTAINS", "election"))}),
        ("manual label = a", {"filter": g({"kind": "manual_label", "task_id": t0["id"], "mode": "labels", "label_ids": [a]})}),
        ("no manual label", {"filter": g({"kind": "manual_label", "task_id": t0["id"], "mode": "none"})}),
        (
            "WS label b, confidence 0.8-1",
            {
                "filter": g(
                    {"kind": "weak_supervision", "task_id": t0["id"], "mode": "labels", "label_ids": [b], "min_confidence": 0.8}
                )
            },
        ),
        ("heuristic h0 voted a", {"filter": g({"kind": "heuristic", "heuristic_id": h0, "mode": "labels", "label_ids": [a]})}),
        (
            "heuristic h0 voted a, manual label differs",
            {
                "filter": g(
                    {"kind": "heuristic", "heuristic_id": h0, "mode": "labels", "label_ids": [a]},
                    {"kind": "manual_label", "task_id": t0["id"]},
                    {"kind": "manual_label", "task_id": t0["id"], "mode": "labels", "label_ids": [a], "negate": True},
                )
            },
        ),
        ("no heuristic voted", {"filter": g({"kind": "no_heuristic_voted", "task_id": t0["id"]})}),
        ("heuristics disagree", {"filter": g({"kind": "heuristics_disagree", "task_id": t1["id"]})}),
        ("manual and WS differ", {"filter": g({"kind": "manual_ws_differ", "task_id": t0["id"]})}),
        ("has comments", {"filter": g({"kind": "has_comments"})}),
        (
            "topic OR comments, random order",
            {
                "filter": g(attr("topic", "IN", "topic1", "topic2"), {"kind": "has_comments"}, join="OR"),
                "sort": [{"by": "random", "seed": "abc1234"}],
            },
        ),
        ("all records, random order", {"filter": None, "sort": [{"by": "random", "seed": "r4nd0m"}]}),
        (
            "category EQUAL, random order",
            {"filter": g(attr("topic", "EQUAL", "topic3")), "sort": [{"by": "random", "seed": "r4nd0m"}]},
        ),
        (
            "numeric BETWEEN (selective), random order desc",
            {"filter": g(attr("score", "BETWEEN", 10, 12.5)), "sort": [{"by": "random", "seed": "r4nd0m", "direction": "desc"}]},
        ),
        # the page after 50 pages of 20 (its cursor fetched once, before the timing)
        (
            "all records, random order, page 51 (cursor)",
            {"filter": None, "sort": [{"by": "random", "seed": "r4nd0m"}], PAGES: 50},
        ),
        ("all, by WS confidence", {"filter": None, "sort": [{"by": "confidence", "task_id": t0["id"], "direction": "desc"}]}),
        (
            "category, by numeric attribute desc",
            {
                "filter": g(attr("topic", "EQUAL", "topic5")),
                "sort": [{"by": "attribute", "attribute": "views", "direction": "desc"}],
            },
        ),
        *(
            [
                (
                    "similar to a record (top 100) AND category",
                    {"filter": g(similar, attr("topic", "IN", "topic1", "topic2", "topic3"))},
                ),
                (
                    "all, by similarity to a record (top 100)",
                    {"filter": None, "sort": [{"by": "similarity", "similar_to": similar_to, "direction": "desc"}]},
                ),
            ]
            if "embedding_id" in world
            else []
        ),
    ]


def wait_for_index_builds(dsn: str, settle_s: float = 2.0, limit_s: float = 1800.0) -> float:
    """Seconds until no index is being built in the database (the gateway's attribute indexes; none: ~settle_s)."""
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    started = time.perf_counter()
    quiet_since = None
    try:
        cur = conn.cursor()
        while time.perf_counter() - started < limit_s:
            cur.execute(
                "SELECT count(*) FROM pg_stat_progress_create_index WHERE datid = (SELECT oid FROM pg_database"
                " WHERE datname = current_database())"
            )
            if cur.fetchone()[0]:
                quiet_since = None
            elif quiet_since is None:
                quiet_since = time.perf_counter()
            elif time.perf_counter() - quiet_since >= settle_s:
                break
            time.sleep(0.2)
        cur.execute("SELECT count(*) FROM pg_class WHERE relname LIKE 'ix_ra_%'")
        log(f"attribute indexes: {cur.fetchone()[0]}")
        return time.perf_counter() - started
    finally:
        conn.close()


def timed(call: Any, reps: int) -> list[float]:
    times = []
    for _ in range(reps):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return times


def baseline_ms(db_url: str, world: dict[str, Any], body: dict[str, Any], reps: int) -> float:
    """p95 of the page and the count of one filter as SQL without the read model (vote chunks unnested)."""
    os.environ["DATABASE_URL"] = db_url
    os.environ["REFINERY_DATABASE_URL"] = db_url
    from shared_model.settings import get_settings

    get_settings.cache_clear()  # settings read before (e.g. by the migration) name the server's default database
    from gateway.domain.browser.compile import ProjectCatalog
    from gateway.domain.browser.filters import FilterGroup
    from gateway.domain.browser.search import count, page
    from gateway.domain.browser.sort import SortKey
    from shared_model.db import session_scope

    group = FilterGroup.model_validate(body["filter"]) if body.get("filter") else None
    sort = [SortKey.model_validate(s) for s in body.get("sort", [])]
    times = []
    for _ in range(reps):
        with session_scope() as session:
            catalog = ProjectCatalog.load(session, uuid.UUID(world["project_id"]), None)
            catalog.session = None  # no read model: as the JSONB + chunks schema alone answers
            started = time.perf_counter()
            page(session, catalog, group, sort, 20, None, "none")
            count(session, catalog, group, "exact")
            times.append((time.perf_counter() - started) * 1000)
    return p95(times)


def label_counts_ms(dsn: str, pid: str, reps: int) -> dict[str, float]:
    """p95 of the label counts as they were read before the label read model (migration 0018): GET /projects'
    distinct records per source type over the label rows, and the progress metric's distinct records per task."""
    statements = {
        "projects": "SELECT source_type, count(DISTINCT record_id) FROM record_label_association"
        " WHERE project_id = %(p)s AND source_type IN ('MANUAL', 'WEAK_SUPERVISION') GROUP BY source_type",
        "progress": "SELECT t.id, (SELECT count(DISTINCT record_id) FROM record_label_association a"
        " WHERE a.labeling_task_id = t.id AND a.source_type = 'MANUAL' AND a.is_valid_manual_label),"
        " (SELECT count(DISTINCT record_id) FROM record_label_association a"
        " WHERE a.labeling_task_id = t.id AND a.source_type = 'WEAK_SUPERVISION')"
        " FROM labeling_task t WHERE t.project_id = %(p)s",
    }
    statements |= {
        "projects_read_model": "SELECT count(DISTINCT record_id) FILTER (WHERE manual) FROM record_task_label"
        " WHERE project_id = %(p)s; SELECT count(DISTINCT record_id) FROM weak_supervision_label WHERE project_id = %(p)s",
        "progress_read_model": "SELECT labeling_task_id, count(*) FILTER (WHERE decided IS NOT NULL)"
        " FROM record_task_label WHERE project_id = %(p)s GROUP BY 1; SELECT labeling_task_id, count(*)"
        " FROM weak_supervision_label WHERE project_id = %(p)s GROUP BY 1",
    }
    out = {}
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        for name, sql in statements.items():

            def run(sql: str = sql) -> None:
                for one in sql.split("; "):
                    cur.execute(one, {"p": pid})
                    cur.fetchall()

            out[name] = round(p95(timed(run, reps)), 1)
    return out


def distribution_sql_ms(dsn: str, task_id: str, reps: int) -> dict[str, float]:
    """p95 of the label distribution's and confidence histogram's SQL (whole project, a multi-class task): over the
    label rows (before) and over the read model ``record_task_label`` (since), in the same run."""
    rla_dist = "SELECT label_id, count(*) FROM record_label_association WHERE labeling_task_id = %(t)s AND {} GROUP BY label_id"
    rtl_dist = (
        "SELECT split_part(s, ':', 1), count(*) FROM (SELECT unnest({0}) AS s FROM record_task_label"
        " WHERE labeling_task_id = %(t)s AND {0} IS NOT NULL) u GROUP BY 1"
    )
    statements = {
        # weak supervision: one row per label (weak_supervision_association) vs one per record (the current version)
        "label_distribution_label_rows": rla_dist.format("source_type = 'MANUAL' AND is_valid_manual_label")
        + "; SELECT label_id, count(*) FROM weak_supervision_association WHERE labeling_task_id = %(t)s GROUP BY label_id",
        "label_distribution_read_model_unnest": rtl_dist.format("decided")
        + "; SELECT split_part(s, ':', 1), count(*) FROM (SELECT unnest(weak) AS s FROM weak_supervision_label"
        " WHERE labeling_task_id = %(t)s) u GROUP BY 1",
        "label_distribution_read_model": "SELECT decided, count(*) FROM record_task_label"
        " WHERE labeling_task_id = %(t)s AND decided IS NOT NULL GROUP BY 1; SELECT weak, count(*)"
        " FROM weak_supervision_label WHERE labeling_task_id = %(t)s GROUP BY 1",
        "confidence_histogram_label_rows": "SELECT least(floor(confidence::float * 10), 9) b, count(*)"
        " FROM weak_supervision_association WHERE labeling_task_id = %(t)s AND confidence IS NOT NULL GROUP BY b",
        "confidence_histogram_read_model": "SELECT least(floor(confidence * 10), 9) b, count(*) FROM weak_supervision_label"
        " WHERE labeling_task_id = %(t)s AND confidence IS NOT NULL GROUP BY b",
    }
    out = {}
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        for name, sql in statements.items():

            def run(sql: str = sql) -> None:
                for one in sql.split("; "):
                    cur.execute(one, {"t": task_id})
                    cur.fetchall()

            out[name] = round(p95(timed(run, reps)), 1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--baseline-reps", type=int, default=3)
    parser.add_argument("--only", default="", help="comma-separated parts of query names: run only those queries")
    parser.add_argument(
        "--keep",
        type=Path,
        default=None,
        help="a folder: build the project once into a kept database (named in FOLDER/world.json) and reuse it in later"
        " runs (migrated to the code's head first); the embedding's files live there too",
    )
    parser.add_argument("--build-only", action="store_true", help="build (and keep, with --keep) the project, then stop")
    parser.add_argument(
        "--no-ws-replace",
        action="store_true",
        help="skip the weak-supervision replace (minutes at 1M records; it rewrites labels)",
    )
    parser.add_argument(
        "--similarity-vectors",
        type=int,
        default=100_000,
        help="records of the similarity query's embedding (deterministic synthetic vectors, indexed by neural search)",
    )
    args = parser.parse_args()
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        with kept_database(args.keep) as db_url:
            result = run_with_services(db_url, args.keep, args)
    else:
        with tempfile.TemporaryDirectory(prefix="refinery-browser-bench-") as tmp, throwaway_database(Path(tmp)) as db_url:
            result = run_with_services(db_url, Path(tmp), args)
    print(json.dumps(result))


@contextmanager
def kept_database(folder: Path) -> Iterator[str]:
    """The database named in ``folder/world.json`` (migrated to head), else a new one, kept afterwards."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from shared_model.migrate import upgrade

    state = folder / "world.json"
    if state.exists():
        url = json.loads(state.read_text())["db_url"]
    else:
        server = make_url(os.environ.get("DATABASE_URL") or os.environ["REFINERY_DATABASE_URL"])
        if server.drivername in ("postgresql", "postgres"):
            server = server.set(drivername="postgresql+psycopg2")
        name = f"refinery_bench_kept_{uuid.uuid4().hex[:8]}"
        admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        url = server.set(database=name).render_as_string(hide_password=False)
        state.write_text(json.dumps({"db_url": url}))
    upgrade(url)
    yield url


def run_with_services(db_url: str, workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    """neural_search, then the gateway pointed at it, on ``db_url`` and ``workdir/data``; then :func:`run`."""
    os.environ.update({"DATABASE_URL": db_url, "REFINERY_DATABASE_URL": db_url, "REFINERY_DATA_DIR": str(workdir / "data")})
    from shared_model.settings import get_settings
    from shared_model.storage import get_storage

    get_settings.cache_clear()
    get_storage.cache_clear()
    env = {**os.environ, "REFINERY_LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1", "HF_HUB_OFFLINE": "1"}
    processes: list[subprocess.Popen[bytes]] = []
    try:
        if not args.build_only:
            search, search_url = start_service("neural_search", env, workdir / "neural_search.log")
            processes.append(search)
            os.environ["REFINERY_NEURAL_SEARCH_URL"] = search_url
        else:
            search_url = ""
        gateway, url, _ = start_gateway(db_url, workdir)
        processes.append(gateway)
        return run(url, db_url, args, workdir, search_url)
    finally:
        for process in reversed(processes):
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()


def run(url: str, db_url: str, args: argparse.Namespace, workdir: Path, search_url: str) -> dict[str, Any]:
    client = login(url)
    dsn = libpq_dsn(db_url)
    state = workdir / "world.json"
    kept = json.loads(state.read_text()) if args.keep is not None and state.exists() else {}
    if "world" in kept:
        world = kept["world"]
        log(f"reusing the kept project {world['project_id']} ({world['records']} records)")
    else:
        world = build(client, dsn, args.records) | {"records": args.records}
        if args.keep is not None:
            state.write_text(json.dumps(kept | {"world": world}))
    if args.build_only:
        return {"records": world["records"], "kept": str(args.keep)}
    if "embedding_id" not in world:
        world |= similarity_embedding(dsn, world, search_url, args.similarity_vectors)
        if args.keep is not None:
            state.write_text(json.dumps(kept | {"world": world}))
    args.records = world["records"]
    pid = world["project_id"]
    base = f"/api/v1/projects/{pid}"
    rows = []
    # the read model is built on first use after a change: measure that once, apart
    started = time.perf_counter()
    for task in world["tasks"]:
        ok(
            client.post(
                f"{base}/records/count", json={"filter": {"conditions": [{"kind": "no_heuristic_voted", "task_id": task["id"]}]}}
            )
        )
    summary_build_s = time.perf_counter() - started
    log(f"vote summaries of both tasks built in {summary_build_s:.1f} s")
    # every query once: a large project's attribute indexes are built (in the background) on first use
    started = time.perf_counter()
    for _name, body in queries(world):
        search = {k: v for k, v in body.items() if k != PAGES}
        ok(client.post(f"{base}/records/search", json={**search, "limit": 20, "count": "estimate"}))
    index_build_s = wait_for_index_builds(dsn) + (time.perf_counter() - started)
    log(f"first use of every query, attribute index builds included: {index_build_s:.1f} s")
    wanted = [part.strip().lower() for part in args.only.split(",") if part.strip()]
    for name, body in queries(world):
        if wanted and not any(part in name.lower() for part in wanted):
            continue
        search = {**{k: v for k, v in body.items() if k != PAGES}, "limit": 20, "count": "estimate"}
        if body.get(PAGES):
            search["cursor"] = cursor_after(client, base, body)
        page_ms = timed(lambda search=search: ok(client.post(f"{base}/records/search", json=search)), args.reps)
        # the route's default count (exact before 'auto' existed; 'auto' since) and an exact one
        count_ms = timed(lambda body=body: ok(client.post(f"{base}/records/count", json={"filter": body["filter"]})), args.reps)
        exact_ms = timed(
            lambda body=body: ok(client.post(f"{base}/records/count", json={"filter": body["filter"], "count": "exact"})),
            args.reps,
        )
        estimated = ok(client.post(f"{base}/records/count", json={"filter": body["filter"]}))["total_estimated"]
        # (similarity: neural search's hits are the same with or without the read model; no SQL-only form)
        baseline = None if "similar" in json.dumps(body) else baseline_ms(db_url, world, body, args.baseline_reps)
        row = {
            "query": name,
            "page_p50_ms": round(statistics.median(page_ms), 1),
            "page_p95_ms": round(p95(page_ms), 1),
            "count_p95_ms": round(p95(count_ms), 1),
            "count_estimated": estimated,
            "count_exact_p95_ms": round(p95(exact_ms), 1),
            "baseline_page_count_p95_ms": None if baseline is None else round(baseline, 1),
        }
        rows.append(row)
        log(json.dumps(row))
    t0 = world["tasks"][0]["id"]
    metric_rows = []
    for name, params in [
        ("progress", {}),
        ("label-distribution", {"task_id": t0}),
        ("confidence-histogram", {"task_id": t0}),
        ("confusion-matrix", {"task_id": t0}),
        ("heuristics", {"task_id": t0}),
    ]:
        ms = timed(lambda name=name, params=params: ok(client.get(f"{base}/metrics/{name}", params=params)), args.reps)
        # first_ms: the first request (a kept figure computed again after a change, migration 0024)
        metric_rows.append(
            {"metric": name, "p50_ms": round(statistics.median(ms), 1), "p95_ms": round(p95(ms), 1), "first_ms": round(ms[0], 1)}
        )
        log(json.dumps(metric_rows[-1]))
    distribution_ms = distribution_sql_ms(dsn, t0, args.reps)
    log(f"label distribution / confidence histogram SQL, label rows (before) vs read model (now): {distribution_ms}")
    projects_ms = timed(lambda: ok(client.get("/api/v1/projects")), args.reps)
    log(f"GET /projects p95 {p95(projects_ms):.1f} ms")
    old_counts_ms = label_counts_ms(dsn, pid, args.baseline_reps)
    log(f"label counts before 0018 (label rows) and from the read model (GET /projects', progress' SQL): {old_counts_ms}")
    unique_ms = timed(lambda: ok(client.get(f"{base}/records/unique-values")), args.reps)
    log(f"unique values p95 {p95(unique_ms):.1f} ms")
    ws_old_s: float | None = None
    ws_new: dict[str, float] = {}
    differ_ms: list[float] = []
    after_switch: dict[str, dict[str, float]] = {}
    if not args.no_ws_replace:
        ws_old_s = ws_replace_old_path_seconds(dsn, pid, world["tasks"][1], args.records)
        log(f"weak-supervision replace, the path before 0023 (delete + insert label rows), scaled to 1M: {ws_old_s:.1f} s")
        ws_new = ws_new_run(db_url, dsn, world["tasks"][1], args.records)
        log(f"weak-supervision run behind a pointer (write, switch, garbage collection): {ws_new}")
        # a new run of the task with manual labels, its switch followed by the job's refresh (the task's differ flags
        # and the confusion matrix computed once, ws_refresh_*_s): the first query after it reads kept figures
        labeled = ws_new_run(db_url, dsn, world["tasks"][0], args.records)
        for key in ("ws_refresh_differ_s", "ws_refresh_confusion_matrix_s"):  # of the task with manual labels
            ws_new[key] = labeled[key]
        log(f"the job's refresh after the switch of the task with manual labels: {labeled}")
        differ = {"filter": {"conditions": [{"kind": "manual_ws_differ", "task_id": world["tasks"][0]["id"]}]}, "count": "exact"}
        differ_ms = timed(lambda: ok(client.post(f"{base}/records/count", json=differ)), 1 + args.reps)
        differ_found = ok(client.post(f"{base}/records/count", json=differ))["total"]
        first, then = differ_ms[0], p95(differ_ms[1:])
        log(f"manual and WS differ after a switch: first {first:.1f} ms, then p95 {then:.1f} ms, {differ_found}")
        # the whole project's metrics after the switch: the counts kept with the new version; the confusion matrix
        # as the job's refresh kept it
        t0_params = {"task_id": world["tasks"][0]["id"]}
        for name in ("progress", "label-distribution", "confidence-histogram", "confusion-matrix"):
            ms = timed(lambda name=name: ok(client.get(f"{base}/metrics/{name}", params=t0_params)), 1 + args.reps)
            after_switch[name] = {"first_ms": round(ms[0], 1), "p95_ms": round(p95(ms[1:]), 1)}
        log(f"metrics after a switch: {after_switch}")
    worst_ours = max(max(r["page_p95_ms"], r["count_p95_ms"]) for r in rows)
    worst_base = max(r["baseline_page_count_p95_ms"] or 0.0 for r in rows)
    print(json.dumps({"queries": rows, "metrics": metric_rows}), file=sys.stderr)
    return {
        "records": args.records,
        "browser_p95_ms": max(r["page_p95_ms"] for r in rows),
        "metrics_p95_ms": max(r["p95_ms"] for r in metric_rows),
        "count_p95_ms": max(r["count_p95_ms"] for r in rows),
        "count_exact_p95_ms": max(r["count_exact_p95_ms"] for r in rows),
        "first_use_with_index_builds_s": round(index_build_s, 1),
        "unique_values_p95_ms": round(p95(unique_ms), 1),
        "projects_p95_ms": round(p95(projects_ms), 1),
        "label_counts_sql_p95_ms": old_counts_ms,
        "distribution_sql_p95_ms": distribution_ms,
        "vote_summary_build_s": round(summary_build_s, 2),
        # a new run's labels visible: the switch (readers see the old labels until then, never a half-written run);
        # the write before it runs while the old labels stay visible (None: --no-ws-replace)
        "ws_replace_1m_s": round(ws_new["ws_switch_ms"] / 1000, 3) if ws_new else None,
        **ws_new,
        "ws_replace_old_path_1m_s": None if ws_old_s is None else round(ws_old_s, 1),
        "ws_differ_first_query_after_switch_ms": round(differ_ms[0], 1) if differ_ms else None,
        "ws_differ_next_queries_p95_ms": round(p95(differ_ms[1:]), 1) if differ_ms else None,
        "metrics_after_switch_ms": after_switch or None,
        "ws_write_vs_old_path": (
            round(ws_old_s / ws_new["ws_write_1m_s"], 1) if ws_old_s and ws_new.get("ws_write_1m_s") else None
        ),
        "ratio_vs_jsonb_baseline": round(worst_base / worst_ours, 2),
    }


if __name__ == "__main__":
    main()
