"""Tokenization as partitions on Ray (``REFINERY_RAY_ADDRESS``, jobs of at least ``ray_min_records`` records): actors
holding the spaCy pipeline encode chunks of records into their DocBins' COPY payload, exactly what
:func:`tokenizer.chunks.encode_chunk` makes in the service (so the stored DocBins are the same bytes); this process
still reads and writes (one transaction per chunk). The pool has the interface of the local worker pool
(:class:`tokenizer.workers.WorkerPool`: ``submit`` / ``check`` / ``wait_ready`` / ``close``), so the job's dispatch
is the same. An actor whose node dies is restarted elsewhere and its chunks retried (bounded); encoding is a pure
function of the chunk, so the result does not change. No user code runs here: the payload is the platform's own.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from shared_model.ray_connect import cluster_cpus, connect
from shared_model.settings import get_settings

from .workers import WAIT_TICK_S, Pending, WorkerCrashed

ATTEMPTS = 3  # tries per chunk (an actor restarted on another node after its node died)


class TokenizerActor:
    """A Ray actor: one spaCy pipeline, loaded once, encoding chunk after chunk."""

    def __init__(self, tokenizer: str) -> None:
        from .docbin import DocBinEncoder
        from .pipelines import get_nlp

        self.nlp = get_nlp(tokenizer)
        self.encoder = DocBinEncoder(self.nlp)

    def encode(self, rows: Sequence[Sequence[Any]], n_columns: int) -> bytes:
        from .chunks import encode_chunk

        return encode_chunk(self.nlp, self.encoder, rows, n_columns)


class RayPending(Pending):
    """A chunk encoding on an actor."""

    def __init__(self, count: int, ray: Any, ref: Any, actor: int) -> None:
        super().__init__(count)
        self.ray = ray
        self.ref = ref
        self.actor = actor

    def done(self) -> bool:
        if not self.event.is_set():
            ready, _ = self.ray.wait([self.ref], timeout=0)
            if ready:
                self._settle()
        return self.event.is_set()

    def _settle(self) -> None:
        try:
            self.resolve(self.ray.get(self.ref))
        except Exception as exc:  # noqa: BLE001 - the actor's failure, named for the job
            self.fail(f"tokenizing on Ray failed: {exc}"[:2000])

    def result(self, limit_s: float = 0.0, poll: Callable[[], None] | None = None) -> bytes:
        started = time.monotonic()
        while not self.done():
            if limit_s > 0 and time.monotonic() - started > limit_s:
                self.ray.cancel(self.ref)  # an actor's task: not force-cancellable (the actors are killed at the end)
                raise WorkerCrashed(f"a tokenizer actor on Ray did not answer within {limit_s:g} s")
            if poll is not None:
                poll()
            self.ray.wait([self.ref], timeout=WAIT_TICK_S)
        if self.error is not None:
            raise WorkerCrashed(self.error)
        assert self.payload is not None
        return self.payload


class RayTokenizerPool:
    """Actors holding the pipeline ``tokenizer`` on the cluster at ``address``; each takes up to ``max_in_flight``
    chunks at a time."""

    def __init__(self, address: str, tokenizer: str, chunks: int, max_in_flight: int = 2) -> None:
        self.ray = connect(address)
        wanted = get_settings().ray_actors or cluster_cpus(self.ray)
        actor = self.ray.remote(num_cpus=1, max_restarts=ATTEMPTS - 1, max_task_retries=ATTEMPTS - 1)(TokenizerActor)
        self.actors = [actor.remote(tokenizer) for _ in range(max(1, min(wanted, chunks)))]
        self.in_flight: list[list[RayPending]] = [[] for _ in self.actors]
        self.max_in_flight = max_in_flight

    def check(self) -> None:
        """Failures surface with each chunk's result."""

    def wait_ready(self, timeout_s: float = 0.05) -> None:
        time.sleep(timeout_s)

    def submit(self, rows: Sequence[Sequence[Any]], n_columns: int) -> Pending | None:
        """Hand a chunk to the least busy actor; None when each has enough queued."""
        for queued in self.in_flight:
            queued[:] = [p for p in queued if not p.done()]
        free = [i for i, queued in enumerate(self.in_flight) if len(queued) < self.max_in_flight]
        if not free:
            return None
        index = min(free, key=lambda i: len(self.in_flight[i]))
        ref = self.actors[index].encode.remote([tuple(row) for row in rows], n_columns)
        pending = RayPending(len(rows), self.ray, ref, index)
        self.in_flight[index].append(pending)
        return pending

    def close(self, kill: bool = False) -> None:
        """End the actors (their pipelines go with them)."""
        for actor in self.actors:
            self.ray.kill(actor, no_restart=True)
        self.actors = []
