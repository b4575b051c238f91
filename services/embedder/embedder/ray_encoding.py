"""Embeddings as partitions on Ray (``REFINERY_RAY_ADDRESS``, jobs of at least ``ray_min_records`` records): a pool of
actors holding the model (``num_gpus=1`` each where the cluster has GPUs, else one CPU each) encodes the chunks; the
job reads the texts, and stores, hands on and marks each chunk in order, as without Ray. A chunk whose actor or node
died is sent again to a live actor (at most :data:`ATTEMPTS` tries, see :mod:`shared_model.ray_actors`); one that keeps
failing fails the job with its reason. A chunk's vectors depend only on the chunk and the model (and
a fitted classical encoder's state, sent to the actors), so the stored vectors are those of the service. No user code
runs here: only the platform's own arrays travel.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator

import numpy as np

from shared_model.jobs import JobFailed
from shared_model.ray_actors import ActorCall, ActorPool
from shared_model.ray_connect import cluster_cpus, cluster_gpus, connect
from shared_model.settings import get_settings

from .encoders import Span, encode_chunk, make_encoder

ATTEMPTS = 3  # tries per chunk (on another actor after its actor or node died)


class RayEncodingFailed(JobFailed):
    """A chunk could not be encoded on Ray; the job fails with this reason."""


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
    pool = ActorPool(
        ray,
        EncoderActor,
        (model, state, max_features),
        max(1, min(wanted, expected)),
        resources,
        attempts=ATTEMPTS,
        what="a chunk's embedding",
    )
    window: deque[tuple[list[int], ActorCall]] = deque()
    try:
        for ids, texts, spans in chunks:
            # no live actor now (every one died, no replacement started yet): the call waits for one (bounded)
            call = pool.call("encode", texts, spans) or ActorCall(pool, "encode", (texts, spans))
            window.append((ids, call))
            if len(window) >= 2 * pool.count:  # enough in flight: the oldest is stored first
                yield _finished(window.popleft())
        while window:
            yield _finished(window.popleft())
    finally:
        for _, call in window:
            call.cancel()  # an actor's task: not force-cancellable; the actors are killed next
        pool.close()


def _finished(item: tuple[list[int], ActorCall]) -> tuple[list[int], np.ndarray, np.ndarray | None]:
    ids, call = item
    while not call.wait():
        pass
    if call.error is not None:
        raise RayEncodingFailed(f"embedding on Ray failed: {call.error}")
    vectors, counts = call.value
    return ids, vectors, counts
