"""Property-based checks of the whole public API (schemathesis over the gateway's OpenAPI schema): every route, called
as an authenticated user with generated parameters and bodies, answers without a server error.

Bounded: ``REFINERY_API_PROPERTY_EXAMPLES`` examples per route (default 20), no shrinking, a fixed seed. Path
parameters point at a real project with records, a labeling task, a lookup list and a heuristic (deletions get the
real project only, with generated ids for the rest), so that the calls get past the 404s. The tokenizer runs as a
real service; the other internal services are not started: a route that needs one must answer 503 naming it (never a
crash), and health says "degraded" — the only 5xx accepted here.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from fastapi.testclient import TestClient

from .upload_helpers import upload_ok

EXAMPLES = int(os.environ.get("REFINERY_API_PROPERTY_EXAMPLES", "20"))
# routes that would end the test's own access or data: called with generated (unknown) ids only
KEEP_GENERATED = {("DELETE", "/api/v1/projects/{project_id}")}


def _allowed(response: Any) -> bool:
    if response.status_code < 500:
        return True
    if response.status_code == 503:
        try:
            body = response.json()
        except ValueError:
            return False
        # a service that is not started: named in a problem, or health reporting the platform degraded
        return "is unreachable" in str(body.get("detail", "")) or body.get("status") == "degraded"
    return False


def _check(case: Any, known: dict[str, Any], headers: dict[str, str], failures: list[str]) -> None:
    """Call one generated case (with the real project, and for all but deletions its real task, record, label …,
    where it names one); note a server error in ``failures``."""
    key = (case.method.upper(), case.operation.path)
    if case.path_parameters and key not in KEEP_GENERATED:
        for name in case.path_parameters:
            if name in known and (name == "project_id" or key[0] != "DELETE"):
                case.path_parameters[name] = known[name]
    try:
        response = case.call(headers=headers)
    except Exception as exc:  # noqa: BLE001 - an exception escaping the app is a failure like a 500
        failures.append(f"{key[0]} {key[1]}: {type(exc).__name__}: {exc} ({case.as_curl_command()})")
        return
    if not _allowed(response):
        failures.append(f"{key[0]} {key[1]}: {response.status_code} {response.text[:300]} ({case.as_curl_command()})")


def test_no_route_answers_a_server_error(client: TestClient, project: dict[str, Any], services: Any) -> None:
    schemathesis = pytest.importorskip("schemathesis")
    from hypothesis import HealthCheck, Phase, given, settings

    services.start("tokenizer")
    pid = project["id"]
    upload_ok(client, pid, "data.csv", b"id,text,text__sentiment\n1,good film,pos\n2,bad film,neg\n3,a film,\n")
    token = client.post("/api/v1/tokens", json={"name": "properties"}).json()["token"]
    task = client.get(f"/api/v1/projects/{pid}/labeling-tasks").json()[0]
    record = client.get(f"/api/v1/projects/{pid}/records", params={"limit": 1}).json()["items"][0]
    attribute = client.get(f"/api/v1/projects/{pid}/attributes").json()[0]
    lookup = client.post(f"/api/v1/projects/{pid}/lookup-lists", json={"name": "words"}).json()
    heuristic = client.post(
        f"/api/v1/projects/{pid}/heuristics",
        json={"labeling_task_id": task["id"], "name": "lf", "source_code": "def lf(record):\n    return 'pos'\n"},
    ).json()
    known = {
        "project_id": pid,
        "task_id": task["id"],
        "label_id": task["labels"][0]["id"],
        "record_id": record["id"],
        "attribute_id": attribute["id"],
        "list_id": lookup["id"],
        "heuristic_id": heuristic["id"],
    }
    headers = {"Authorization": f"Bearer {token}"}
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", client.app)
    failures: list[str] = []
    calls = 0

    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            phases=[Phase.explicit, Phase.generate],
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def call(case: Any) -> None:
            nonlocal calls
            calls += 1
            _check(case, known, headers, failures)

        call()

    assert calls > 100
    assert not failures, f"{len(failures)} server errors:\n" + "\n".join(dict.fromkeys(failures))
