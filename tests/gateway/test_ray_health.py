"""With ``REFINERY_RAY_ADDRESS`` set, the platform's health shows the Ray cluster: every node and whether user code
can run there. A real local cluster (``ray.cluster_utils.Cluster``) of three nodes, one of which has a bubblewrap
that does not exist; a real executor process on it; the in-process gateway reads the executor's health over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shared_model.settings import get_settings

from ..ray_clusters import local_cluster
from ..service_processes import ServicePool, ServiceProcess

ray = pytest.importorskip("ray")
from ray.cluster_utils import Cluster  # noqa: E402

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

BROKEN = "/nonexistent/ray-node/bwrap"


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    broken = {"env_vars": {"REFINERY_EXECUTOR_BACKEND": "bwrap", "REFINERY_EXECUTOR_BWRAP_PATH": BROKEN}}
    with local_cluster({}, broken) as (made, _):
        yield made


@pytest.fixture()
def executor(cluster: Cluster, tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[ServiceProcess]:
    monkeypatch.delenv("REFINERY_EXECUTOR_URL", raising=False)
    for name in ("REFINERY_EXECUTOR_BWRAP_PATH", "REFINERY_EXECUTOR_BACKEND"):  # each node's own settings decide
        monkeypatch.delenv(name, raising=False)
    pool = ServicePool(tmp_path, extra_env={"REFINERY_RAY_ADDRESS": cluster.address})
    try:
        yield pool.start("executor")
    finally:
        pool.stop_all()
        monkeypatch.undo()
        get_settings.cache_clear()


def test_health_shows_the_ray_nodes_and_their_sandboxes(app_client: TestClient, executor: ServiceProcess) -> None:
    body: dict[str, Any] = app_client.get("/api/v1/health").json()
    ray_part = body["ray"]
    assert ray_part["address"] and ray_part["nodes_alive"] == 3, ray_part
    assert ray_part["nodes_usable"] == 2 and ray_part["status"] == "ok", ray_part
    by_state = {node["sandbox"]["status"]: node for node in ray_part["nodes"]}
    assert set(by_state) == {"ok", "unavailable"}
    refusing = [n for n in ray_part["nodes"] if n["sandbox"]["status"] != "ok"]
    assert len(refusing) == 1 and BROKEN in refusing[0]["sandbox"]["reason"]
    assert BROKEN in ray_part["warning"]
    assert body["services"]["executor"]["ray"] == ray_part


def test_health_without_ray_has_no_ray_part(app_client: TestClient) -> None:
    assert "ray" not in app_client.get("/api/v1/health").json()
