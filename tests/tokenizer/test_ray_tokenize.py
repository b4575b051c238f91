"""Tokenization as partitions on a real local Ray cluster of two nodes (``ray.cluster_utils.Cluster``, one CPU each),
over 10,000 records: actors holding the spaCy pipeline encode the chunks, and the stored DocBins are exactly the bytes
the service stores without Ray, also when a node is removed mid-run (its chunks go to the live actors)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text

from shared_model.db import session_scope
from shared_model.ray_actors import ActorPool
from shared_model.settings import get_settings
from tokenizer.tokenize import tokenize_stale_records
from tokenizer.warm_workers import warm_workers

from ..ray_clusters import NODE, local_cluster
from .test_workers import project_with_records, stored_bytes

ray = pytest.importorskip("ray")
from ray.cluster_utils import Cluster  # noqa: E402

pytestmark = pytest.mark.timeout(900)

N = 10_000


@pytest.fixture(scope="module")
def cluster(database_url: str) -> Iterator[tuple[Cluster, Any]]:
    with local_cluster({}) as (made, (worker,)):
        yield made, worker


@pytest.fixture()
def settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    monkeypatch.setenv("REFINERY_TOKENIZER_PROCESSES", "1")  # the local path: the service process alone
    get_settings.cache_clear()
    warm_workers.close()
    yield monkeypatch
    monkeypatch.undo()
    get_settings.cache_clear()


def _forget_tokens(project_id: Any) -> None:
    with session_scope() as session:
        session.execute(text("DELETE FROM record_tokenized WHERE project_id = :p"), {"p": project_id})


def test_ray_actors_store_exactly_the_local_docbins(
    clean_db: str, cluster: tuple[Cluster, Any], settings: pytest.MonkeyPatch
) -> None:
    target = project_with_records(N, columns=2)
    local = tokenize_stale_records(target, lambda *_: None, chunk_records=500)
    assert local.stored == N and local.processes == 1 and local.runner == "local"
    expected = stored_bytes(target.project_id)
    _forget_tokens(target.project_id)

    settings.setenv("REFINERY_RAY_ADDRESS", cluster[0].address)
    settings.setenv("REFINERY_RAY_MIN_RECORDS", "1000")
    get_settings.cache_clear()
    on_ray = tokenize_stale_records(target, lambda *_: None, chunk_records=500)
    assert on_ray.stored == N and on_ray.processes == 2 and on_ray.runner == "ray"  # one actor per CPU of the cluster
    assert on_ray.worker_chunks >= 10  # most chunks went to the actors
    assert stored_bytes(target.project_id) == expected


@pytest.mark.parametrize("graceful", [True, False], ids=["drained", "killed"])
def test_a_node_removed_mid_run_still_stores_the_local_docbins(
    clean_db: str, cluster: tuple[Cluster, Any], settings: pytest.MonkeyPatch, graceful: bool
) -> None:
    """A third node joins, and is removed (drained, or killed) once the run is under way: its actor's chunks fail
    fast and go to the two live actors, so the run ends soon after with exactly the local DocBins (before, Ray
    restarted the actor, which could never get a CPU again: its chunks waited until the 600 s answer limit failed the
    job, or failed it at once as "temporarily unavailable")."""
    made, _ = cluster
    target = project_with_records(N, columns=2)
    tokenize_stale_records(target, lambda *_: None, chunk_records=500)
    expected = stored_bytes(target.project_id)
    _forget_tokens(target.project_id)

    extra = made.add_node(**NODE)
    made.wait_for_nodes()
    deaths: list[str] = []
    real_lost = ActorPool.lost

    def lost(pool: ActorPool, slot: Any, reason: BaseException) -> None:
        deaths.append(type(reason).__name__)
        real_lost(pool, slot, reason)

    settings.setattr(ActorPool, "lost", lost)
    settings.setenv("REFINERY_RAY_ADDRESS", made.address)
    settings.setenv("REFINERY_RAY_MIN_RECORDS", "1000")
    get_settings.cache_clear()
    removed: list[float] = []

    def progress(done: int, total: int) -> None:
        if done >= 2_000 and not removed:  # the three actors are encoding: one of them goes with its node
            made.remove_node(extra, allow_graceful=graceful)
            removed.append(time.monotonic())

    on_ray = tokenize_stale_records(target, progress, chunk_records=500)
    assert removed, "the run ended before the node was removed"
    assert time.monotonic() - removed[0] < 60
    assert on_ray.stored == N and on_ray.processes == 3  # one actor per node
    assert deaths  # the removed node's actor died, and its chunks were encoded again elsewhere
    assert stored_bytes(target.project_id) == expected
