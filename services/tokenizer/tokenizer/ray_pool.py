"""Tokenization as partitions on Ray (``REFINERY_RAY_ADDRESS``, jobs of at least ``ray_min_records`` records): actors
holding the spaCy pipeline encode chunks of records into their DocBins' COPY payload, exactly what
:func:`tokenizer.chunks.encode_chunk` makes in the service (so the stored DocBins are the same bytes); this process
still reads and writes (one transaction per chunk). The pool has the interface of the local worker pool
(:class:`tokenizer.workers.WorkerPool`: ``submit`` / ``check`` / ``wait_ready`` / ``close``), so the job's dispatch
is the same. A chunk whose actor or node died is sent again to a live actor (at most :data:`ATTEMPTS` tries, see
:mod:`shared_model.ray_actors`); encoding is a pure function of the chunk, so the result does not change. A chunk that
keeps failing fails the job with its reason. No user code runs here: the payload is the platform's own.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from shared_model.ray_actors import ActorCall, ActorPool
from shared_model.ray_connect import cluster_cpus, connect
from shared_model.settings import get_settings

from .workers import WAIT_TICK_S, Pending, WorkerCrashed

ATTEMPTS = 3  # tries per chunk (on another actor after its actor or node died)


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
    """A chunk encoding on an actor (sent again to another when that one dies)."""

    def __init__(self, count: int, call: ActorCall) -> None:
        super().__init__(count)
        self.call = call

    def done(self) -> bool:
        if not self.event.is_set() and self.call.done():
            if self.call.error is not None:
                self.fail(f"tokenizing on Ray failed: {self.call.error}"[:2000])
            else:
                self.resolve(self.call.value)
        return self.event.is_set()

    def result(self, limit_s: float = 0.0, poll: Callable[[], None] | None = None) -> bytes:
        started = time.monotonic()
        while not self.done():
            if limit_s > 0 and time.monotonic() - started > limit_s:
                self.call.cancel()
                raise WorkerCrashed(f"a tokenizer actor on Ray did not answer within {limit_s:g} s")
            if poll is not None:
                poll()
            self.call.wait(WAIT_TICK_S)
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
        self.pool = ActorPool(
            self.ray,
            TokenizerActor,
            (tokenizer,),
            max(1, min(wanted, chunks)),
            {"num_cpus": 1},
            attempts=ATTEMPTS,
            what="a chunk's tokenization",
        )
        self.max_in_flight = max_in_flight

    @property
    def actors(self) -> list[Any]:
        """The live actors."""
        return [slot.handle for slot in self.pool.slots if not slot.dead]

    def check(self) -> None:
        """Failures surface with each chunk's result."""

    def wait_ready(self, timeout_s: float = 0.05) -> None:
        time.sleep(timeout_s)

    def submit(self, rows: Sequence[Sequence[Any]], n_columns: int) -> Pending | None:
        """Hand a chunk to the least busy live actor; None when each has enough queued."""
        call = self.pool.call("encode", [tuple(row) for row in rows], n_columns, max_in_flight=self.max_in_flight)
        return RayPending(len(rows), call) if call is not None else None

    def close(self, kill: bool = False) -> None:
        """End the actors (their pipelines go with them)."""
        self.pool.close()
