"""Embeddings on a Ray cluster whose nodes declare GPUs: the encoder actors ask for one GPU each (and no CPU), so they
run on the GPU nodes, one per GPU, and the vectors still equal the service's own. This machine has no GPU: the two
worker nodes declare one each (Ray schedules by declared resources; inside the actor torch finds no CUDA device and
encodes on the CPU, as ``encoders.device()`` decides). What it proves is the scheduling the issue asks for
(``num_gpus`` where nodes have GPUs); encoding on a real GPU is not exercised here."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import numpy as np
import pytest

from embedder.encoders import encode_chunk, make_encoder
from embedder.ray_encoding import ray_encoded
from shared_model.settings import get_settings

from ..ray_clusters import local_cluster

ray = pytest.importorskip("ray")

pytestmark = pytest.mark.timeout(600)


@pytest.fixture()
def gpu_cluster(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A head without GPUs and two worker nodes with one (declared) GPU each."""
    with local_cluster({"num_gpus": 1}, {"num_gpus": 1}) as (made, _):
        monkeypatch.setenv("REFINERY_RAY_ADDRESS", made.address)
        get_settings.cache_clear()
        yield made.address
        monkeypatch.undo()
        get_settings.cache_clear()


def test_encoder_actors_take_the_gpus_of_the_gpu_nodes(gpu_cluster: str) -> None:
    texts = [f"record {i}: {'cheap flights' if i % 2 else 'the striker scored'} ({i % 7})" for i in range(400)]
    chunks = [(list(range(s, s + 50)), texts[s : s + 50], None) for s in range(0, len(texts), 50)]
    lowest = {"GPU": 2.0, "CPU": 3.0}
    stop = threading.Event()

    def watch() -> None:  # what the actors hold while they run
        while not stop.is_set():
            free = ray.available_resources()
            lowest["GPU"] = min(lowest["GPU"], float(free.get("GPU", 0.0)))
            lowest["CPU"] = min(lowest["CPU"], float(free.get("CPU", 0.0)))
            stop.wait(0.02)

    watcher = threading.Thread(target=watch, daemon=True)
    try:
        remote = ray_encoded("all-MiniLM-L6-v2", None, 1000, iter(chunks), len(chunks))
        first = next(remote)  # connected, actors started: watch from here
        watcher.start()
        results = [first, *remote]
    finally:
        stop.set()
        if watcher.is_alive():
            watcher.join(5)
    assert ray.cluster_resources().get("GPU") == 2.0
    assert lowest["GPU"] == 0.0, "the encoder actors did not hold the cluster's two GPUs"
    assert lowest["CPU"] >= 3.0 - 1e-9, "a GPU actor also took a CPU (it asks for num_cpus=0)"
    encoder = make_encoder("all-MiniLM-L6-v2")
    assert [ids for ids, _, _ in results] == [ids for ids, _, _ in chunks]
    for (_, vectors, _), (_, part, _) in zip(results, chunks, strict=True):
        local, _ = encode_chunk(encoder, part, None)
        assert np.allclose(vectors, local, atol=1e-5)
