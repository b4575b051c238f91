"""POST /export with heuristic_ids: chosen heuristics' votes as export columns."""

from __future__ import annotations

import json
import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text

from shared_model.db import get_engine, session_scope
from shared_model.heuristic_results import ResultBuffer, store_session_results
from shared_model.models import HeuristicType, InformationSource

from .test_export_selection import _seed
from .test_labeling import make_task, seed_records


def _heuristic(pid: str, task: str, name: str, votes: list[tuple[int, str, int | None, int | None]]) -> str:
    with session_scope() as session:
        source = InformationSource(
            project_id=uuid.UUID(pid), labeling_task_id=uuid.UUID(task), type=HeuristicType.PRE_COMPUTED, name=name
        )
        session.add(source)
        session.flush()
        buffer = ResultBuffer()
        for record_id, label, start, end in votes:
            buffer.add(record_id, uuid.UUID(label), start, end)
        store_session_results(session, uuid.UUID(pid), uuid.UUID(task), source.id, buffer)
        return str(source.id)


def test_heuristic_votes_as_columns(client: TestClient, project: dict[str, Any]) -> None:
    pid = project["id"]
    task, neg = _seed(client, pid)
    with get_engine().begin() as conn:
        ids = dict(conn.execute(text("SELECT (data->>'id')::int, id FROM record WHERE project_id = :p"), {"p": pid}).all())
        pos = conn.execute(text("SELECT id FROM label WHERE labeling_task_id = :t AND name = 'POS'"), {"t": task}).scalar_one()
    # votes on records 1 and 3 (stored out of record order)
    kw = _heuristic(pid, task, "kw_neg", [(ids[3], neg, None, None), (ids[1], str(pos), None, None)])
    other = _heuristic(pid, task, "never_fires", [])

    response = client.post(
        f"/api/v1/projects/{pid}/export", json={"format": "jsonl", "attributes": ["id"], "heuristic_ids": [kw, other]}
    )
    assert response.status_code == 200, response.text
    rows = [json.loads(line) for line in response.text.splitlines()]
    column = "headline__sentiment__HEURISTIC__kw_neg"
    assert [(row["id"], row[column], row["headline__sentiment__HEURISTIC__never_fires"]) for row in rows] == [
        (1, "POS", None),
        (2, None, None),
        (3, "NEG", None),
    ]
    # a filter's subset keeps each record's own vote; without heuristic_ids there is no heuristic column
    only3 = {"kind": "group", "conditions": [{"kind": "attribute", "attribute": "id", "operator": "EQUAL", "values": [3]}]}
    narrow = client.post(f"/api/v1/projects/{pid}/export", json={"format": "json", "filter": only3, "heuristic_ids": [kw]})
    assert [row[column] for row in narrow.json()] == ["NEG"]
    plain = client.post(f"/api/v1/projects/{pid}/export", json={"format": "json"}).json()
    assert not any("HEURISTIC" in key for key in plain[0])
    csv_head = client.post(f"/api/v1/projects/{pid}/export", json={"format": "csv", "heuristic_ids": [kw]}).text.splitlines()[0]
    assert csv_head.endswith(column)

    unknown = client.post(f"/api/v1/projects/{pid}/export", json={"heuristic_ids": [str(uuid.uuid4())]})
    assert unknown.status_code == 422 and "heuristic_ids" in unknown.json()["detail"]
    left_out = client.post(f"/api/v1/projects/{pid}/export", json={"task_ids": [], "heuristic_ids": [kw]})
    assert left_out.status_code == 422 and kw in left_out.json()["detail"]


def test_extraction_heuristic_votes_are_bio_arrays(services: Any, client: TestClient, project: dict[str, Any]) -> None:
    pid = project["id"]
    [rid] = seed_records(pid, ["one two three"])
    task = make_task(client, pid, "ents", "INFORMATION_EXTRACTION", "headline", ["X"])
    spans = _heuristic(pid, task["id"], "spans", [(rid, task["by_name"]["X"], 1, 3)])
    body = {"format": "json", "heuristic_ids": [spans]}
    untokenized = client.post(f"/api/v1/projects/{pid}/export", json=body).json()
    assert untokenized[0]["headline__ents__HEURISTIC__spans"] is None  # no stored tokens yet
    services.start("tokenizer")
    tokens = client.get(f"/api/v1/projects/{pid}/records/{rid}/tokens")  # tokenized on demand and stored
    assert tokens.status_code == 200, tokens.text
    rows = client.post(f"/api/v1/projects/{pid}/export", json=body).json()
    assert rows[0]["headline__ents__HEURISTIC__spans"] == ["OUTSIDE", "B-X", "I-X"]
