"""Embeddings as partitions on Ray (``REFINERY_RAY_ADDRESS``, jobs of at least ``ray_min_records`` records): a pool of
actors holding the model (``num_gpus=1`` each where the cluster has GPUs, else one CPU each) encodes the chunks; the
job reads the texts, and stores, hands on and marks each chunk in order, as without Ray. An actor whose node dies is
restarted elsewhere and its chunks retried (bounded); a chunk's vectors depend only on the chunk and the model (and
a fitted classical encoder's state, sent to the actors), so the stored vectors are those of the service. No user code
runs here: only the platform's own arrays travel.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from shared_model.ray_connect import cluster_cpus, cluster_gpus, connect
from shared_model.settings import get_settings

from .encoders import Span, encode_chunk, make_encoder

ATTEMPTS = 3  # tries per chunk (an actor restarted on another node after its node died)

Chunk = tuple[list[int], list[str], list[list[Span]] | None]  # record ids, their texts, their tokens' spans


class EncoderActor:
    """A Ray actor: the embedding's encoder, loaded once, encoding chunk after chunk."""

    def __init__(self, model: str, state: bytes | None, max_features: int) -> None:
        self.encoder = make_encoder(model, state=state, max_features=max_features)

    def encode(self, texts: list[str], spans: list[list[Span]] | None) -> tuple[np.ndarray, np.ndarray | None]:
        return encode_chunk(self.encoder, texts, spans)


def ray_encoded(
    model: str, state: bytes | None, max_features: int, chunks: Iterable[Chunk], expected: int
) -> Iterator[tuple[list[int], np.ndarray, np.ndarray | None]]:
    """``(record ids, vectors, token counts)`` of each chunk, in the order of ``chunks``, encoded by actors on the
    cluster (``expected``: how many chunks there will be, to start no more actors than useful)."""
    settings = get_settings()
    ray = connect(settings.ray_address)
    gpus = cluster_gpus(ray)
    wanted = settings.ray_actors or (gpus or cluster_cpus(ray))
    resources = {"num_gpus": 1, "num_cpus": 0} if gpus else {"num_cpus": 1}
    actor = ray.remote(max_restarts=ATTEMPTS - 1, max_task_retries=ATTEMPTS - 1, **resources)(EncoderActor)
    actors = [actor.remote(model, state, max_features) for _ in range(max(1, min(wanted, expected)))]
    window: deque[tuple[list[int], Any]] = deque()
    try:
        for index, (ids, texts, spans) in enumerate(chunks):
            window.append((ids, actors[index % len(actors)].encode.remote(texts, spans)))
            if len(window) >= 2 * len(actors):  # enough in flight: the oldest is stored first
                done_ids, ref = window.popleft()
                yield (done_ids, *ray.get(ref))
        while window:
            done_ids, ref = window.popleft()
            yield (done_ids, *ray.get(ref))
    finally:
        for ref in (ref for _, ref in window):
            ray.cancel(ref)  # an actor's task: not force-cancellable; the actors are killed next
        for handle in actors:
            ray.kill(handle, no_restart=True)
