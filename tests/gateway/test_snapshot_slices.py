"""Data slices travel in a snapshot: exported with this installation's filters and the static slices' records,
imported with every id in their filters mapped to the new project's (tasks, labels, heuristics, slices)."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

from fastapi.testclient import TestClient

from .browser_world import World, build_world
from .test_snapshot_import import import_ok


def test_slices_round_trip_through_a_snapshot(client: TestClient, project: dict[str, Any]) -> None:
    world: World = build_world(client, project["id"])
    s = world.sentiment
    heuristic = next(iter(world.heuristics.values()))

    def make(name: str, kind: str, node: dict[str, Any]) -> dict[str, Any]:
        r = client.post(world.url("/slices"), json={"name": name, "type": kind, "filter": node})
        assert r.status_code in (200, 201), r.text
        return dict(r.json())

    voted = make(
        "voted pos",
        "DYNAMIC_DEFAULT",
        {
            "conditions": [
                {"kind": "heuristic", "heuristic_id": heuristic, "mode": "any"},
                {"kind": "manual_label", "task_id": s["id"], "mode": "labels", "label_ids": [s["by_name"]["pos"]]},
            ]
        },
    )
    make(
        "tech",
        "STATIC_DEFAULT",
        {"conditions": [{"kind": "attribute", "attribute": "topic", "operator": "EQUAL", "values": ["tech"]}]},
    )
    make("tech or voted", "DYNAMIC_DEFAULT", {"join": "OR", "conditions": [{"kind": "in_slice", "slice_id": voted["id"]}]})
    before = {x["name"]: x for x in client.get(world.url("/slices")).json()}
    assert all(x["count"] > 0 for x in before.values()), before

    exported = client.get(world.url("/snapshot"))
    assert exported.status_code == 200
    with zipfile.ZipFile(io.BytesIO(exported.content)) as archive:
        data = json.loads(archive.read(archive.namelist()[0]))
    assert {row["name"] for row in data["data_slice_data"]} == set(before)
    assert len(data["data_slice_record_association_data"]) == before["tech"]["count"]

    result = import_ok(client, "slices.zip", exported.content)["result"]
    assert result["data_slices"] == 3 and result["data_slice_records"] == before["tech"]["count"]
    assert "data_slice_data" not in result["skipped"]
    new = result["project_id"]
    after = {x["name"]: x for x in client.get(f"/api/v1/projects/{new}/slices").json()}
    assert set(after) == set(before)
    for name, old in before.items():
        got = after[name]
        assert (got["type"], got["count"], got["problem"]) == (old["type"], old["count"], None), name
    # the ids in the filters are the new project's
    text = json.dumps([after[n]["filter"] for n in after])
    for old_id in (s["id"], s["by_name"]["pos"], heuristic, voted["id"]):
        assert old_id not in text
    assert after["tech or voted"]["filter"]["conditions"][0]["slice_id"] == after["voted pos"]["id"]
    assert after["tech"]["outdated"] is False
