"""A project's rows are reachable through that project's URLs only, even for a member of both projects.

Membership of the path's project is checked by ``ProjectDep``; this checks the second half: the row named in the path
must belong to that project (``shared_model.service.crud.get_in_project``). Each case has its positive control (the
same call through the row's own project succeeds), so the test fails if either half goes.
"""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from .test_labeling import API, make_task, seed_records


def _rows_of(client: TestClient, pid: str) -> dict[str, str]:
    seed_records(pid, ["a record"])
    task = make_task(client, pid, "sentiment", "MULTICLASS_CLASSIFICATION", None, ["pos", "neg"])
    lookup = client.post(f"{API}/{pid}/lookup-lists", json={"name": "cities"})
    assert lookup.status_code == 201, lookup.text
    heuristic = client.post(
        f"{API}/{pid}/heuristics",
        json={"labeling_task_id": task["id"], "name": "lf", "source_code": "def lf(record):\n    return 'pos'\n"},
    )
    assert heuristic.status_code == 201, heuristic.text
    return {"task": task["id"], "label": task["by_name"]["pos"], "list": lookup.json()["id"], "heuristic": heuristic.json()["id"]}


def test_a_projects_rows_are_not_reachable_through_another_project(client: TestClient, project: dict[str, Any]) -> None:
    mine = project["id"]
    other = client.post(f"{API}", json={"name": "the other project"}).json()["id"]
    rows = _rows_of(client, mine)
    reads = [
        f"labeling-tasks/{rows['task']}",
        f"labeling-tasks/{rows['task']}/heuristic-statistics",
        f"lookup-lists/{rows['list']}",
        f"lookup-lists/{rows['list']}/terms",
        f"heuristics/{rows['heuristic']}",
        f"heuristics/{rows['heuristic']}/runs",
    ]
    for path in reads:
        assert client.get(f"{API}/{mine}/{path}").status_code == 200, path
        wrong = client.get(f"{API}/{other}/{path}")
        assert wrong.status_code == 404, f"{path} answered {wrong.status_code} through another project"
        assert "does not exist" in wrong.json()["detail"], wrong.text
    changes = [
        (f"labeling-tasks/{rows['task']}", {"name": "renamed"}),
        (f"labels/{rows['label']}", {"name": "renamed"}),
        (f"lookup-lists/{rows['list']}", {"description": "changed"}),
        (f"heuristics/{rows['heuristic']}", {"description": "changed"}),
    ]
    for path, body in changes:
        assert client.patch(f"{API}/{other}/{path}", json=body).status_code == 404, path
        assert client.delete(f"{API}/{other}/{path}").status_code == 404, path
    task = client.get(f"{API}/{mine}/labeling-tasks/{rows['task']}").json()
    assert task["name"] == "sentiment" and sorted(label["name"] for label in task["labels"]) == ["neg", "pos"]
    assert client.get(f"{API}/{mine}/lookup-lists/{rows['list']}").json()["description"] == ""
    assert client.get(f"{API}/{mine}/heuristics/{rows['heuristic']}").json()["description"] == ""
    for path, body in changes:  # the same changes through the row's own project work
        assert client.patch(f"{API}/{mine}/{path}", json=body).status_code == 200, path
