"""Worker processes for big tokenize jobs: tokenizing and DocBin encoding beside the service process.

Tokenizing is Python-bound, one core per process. A big job starts a few workers (:mod:`tokenizer.worker_process`),
each loading the pipeline once, and shares its chunks between them and the service process, which also reads the next
chunks and writes the finished ones meanwhile. This module is the service's side: a :class:`Worker` per process and
the :class:`WorkerPool` of a job; the service keeps workers warm between jobs (:mod:`tokenizer.warm_workers`).
A job waiting for a worker checks every :data:`WAIT_TICK_S` that it lives and that the job goes on; a worker silent too
long on one chunk (``REFINERY_TOKENIZER_WORKER_ANSWER_S``) fails the job and is killed.
"""

from __future__ import annotations

import logging
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from .worker_process import read_frame, write_frame

try:
    import fcntl
except ImportError:  # not on Windows
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger("tokenizer")

STOP_TIMEOUT_S = 10.0
PIPE_BYTES = 1 << 20
WAIT_TICK_S = 0.2  # how often a wait for a worker checks that it lives and that the job goes on


class WorkerCrashed(RuntimeError):
    """A worker process died or failed; the job fails with this reason."""


def exit_reason(pid: int, returncode: int | None) -> str:
    if returncode is None:
        return f"tokenizer worker process {pid} stopped answering"
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"tokenizer worker process {pid} was killed by {name}"
    return f"tokenizer worker process {pid} exited with code {returncode}"


def _widen_pipes(process: subprocess.Popen[bytes]) -> None:
    """1 MiB pipe buffers (Linux; the default is 64 KiB): a chunk's frames pass in one write instead of many."""
    set_size = getattr(fcntl, "F_SETPIPE_SZ", None) if fcntl is not None else None
    if set_size is None:
        return
    for stream in (process.stdin, process.stdout):
        if stream is not None:
            try:
                fcntl.fcntl(stream.fileno(), set_size, PIPE_BYTES)
            except OSError:  # above the system's pipe-max-size: keep the default
                pass


class Pending:
    """A chunk of records being encoded: its COPY payload once ready, or the reason it never will be."""

    def __init__(self, count: int, payload: bytes | None = None, worker: Worker | None = None) -> None:
        self.count = count
        self.payload = payload
        self.worker = worker  # the worker encoding it; None when encoded in this process
        self.submitted = time.monotonic()
        self.error: str | None = None
        self.event = threading.Event()
        if payload is not None:
            self.event.set()

    def resolve(self, payload: bytes) -> None:
        self.payload = payload
        self.event.set()

    def fail(self, reason: str) -> None:
        self.error = reason
        self.event.set()

    def done(self) -> bool:
        return self.event.is_set()

    def result(self, limit_s: float = 0.0, poll: Callable[[], None] | None = None) -> bytes:
        """The payload, waiting for it; raises :class:`WorkerCrashed` when its worker failed or exited, or (killing
        it) did not answer within ``limit_s`` seconds (0 = no limit) of starting on this chunk. ``poll`` is called
        every :data:`WAIT_TICK_S` while waiting and may raise (a cancelled job)."""
        while not self.event.wait(WAIT_TICK_S):
            worker = self.worker
            if worker is None:
                continue
            worker.check()
            # a worker encodes its chunks in order: this one started when it was sent or the previous one came back
            started = max(self.submitted, worker.last_answer)
            if limit_s > 0 and time.monotonic() - started > limit_s and not self.event.is_set():
                reason = f"tokenizer worker process {worker.pid} did not answer within {limit_s:g} s"
                worker.kill(reason)
                self.fail(reason)  # already failed by kill() unless its answer was being received right then
                break
            if poll is not None:
                poll()
        if self.error is not None:
            raise WorkerCrashed(self.error)
        assert self.payload is not None
        return self.payload


class Worker:
    """One worker process and the thread that receives its answers (resolving its chunks in order)."""

    def __init__(self, tokenizer: str) -> None:
        self.tokenizer = tokenizer
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tokenizer.worker_process", tokenizer, str(os.getpid())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            close_fds=True,
        )
        self.pid = self.process.pid
        _widen_pipes(self.process)
        self.in_flight: deque[Pending] = deque()
        self.lock = threading.Lock()
        self.ready = threading.Event()
        self.failure: str | None = None
        self.closing = False
        self.last_answer = time.monotonic()  # when the last frame came (or the process started)
        self.receiver = threading.Thread(target=self._receive, name=f"tokenize-worker-{self.pid}", daemon=True)
        self.receiver.start()

    def _receive(self) -> None:
        assert self.process.stdout is not None
        try:
            while True:
                kind, value = read_frame(self.process.stdout)
                self.last_answer = time.monotonic()
                if kind == "ready":
                    self.ready.set()
                elif kind == "chunk":
                    with self.lock:
                        pending = self.in_flight.popleft()
                    pending.resolve(value)
                else:
                    self._fail(f"tokenizer worker process {self.pid} failed: {value}")
                    return
        except (EOFError, OSError, pickle.UnpicklingError):
            if not self.closing:
                try:
                    code: int | None = self.process.wait(5)
                except subprocess.TimeoutExpired:
                    code = None
                self._fail(exit_reason(self.pid, code))
        except Exception as exc:  # noqa: BLE001 - a garbled answer: the chunks waiting on it must not hang
            self._fail(f"tokenizer worker process {self.pid} answered unexpectedly: {type(exc).__name__}: {exc}")

    def _fail(self, reason: str) -> None:
        with self.lock:
            self.failure = self.failure or reason
            lost = list(self.in_flight)
            self.in_flight.clear()
        for pending in lost:
            pending.fail(reason)

    def kill(self, reason: str) -> None:
        """Fail this worker's chunks with ``reason`` and kill its process (it is not waited for here)."""
        self._fail(reason)
        self.process.kill()

    def check(self) -> None:
        """Raise :class:`WorkerCrashed` when this worker failed or exited."""
        if self.failure is not None:
            raise WorkerCrashed(self.failure)
        code = self.process.poll()
        if code is not None and not self.closing:
            raise WorkerCrashed(exit_reason(self.pid, code))

    def submit(self, rows: Sequence[Sequence[Any]], n_columns: int) -> Pending:
        pending = Pending(len(rows), worker=self)
        with self.lock:
            if self.failure is not None:
                raise WorkerCrashed(self.failure)
            self.in_flight.append(pending)
        assert self.process.stdin is not None
        try:
            write_frame(self.process.stdin, (rows, n_columns))
        except OSError:
            self.receiver.join(STOP_TIMEOUT_S)
            raise WorkerCrashed(self.failure or exit_reason(self.pid, self.process.poll())) from None
        return pending

    def stop(self, kill: bool) -> None:
        """End the process: at the end of its input, or killed at once."""
        self.closing = True
        if kill:
            self.process.kill()
        try:
            assert self.process.stdin is not None
            self.process.stdin.close()
        except OSError:
            pass
        try:
            self.process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.receiver.join(STOP_TIMEOUT_S)
        if self.process.stdout is not None:
            self.process.stdout.close()


class WorkerPool:
    """The worker processes of one job; a context manager that ends them all (killed when the job raised)."""

    def __init__(self, tokenizer: str, processes: int, max_in_flight: int = 2, *, workers: Sequence[Worker] = ()) -> None:
        self.tokenizer = tokenizer
        self.max_in_flight = max_in_flight
        self.workers: list[Worker] = list(workers)
        try:
            while len(self.workers) < processes:
                self.workers.append(Worker(tokenizer))
        except BaseException:
            self.close(kill=True)
            raise

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, exc_type: object, *_: object) -> None:
        self.close(kill=exc_type is not None)

    @property
    def pids(self) -> list[int]:
        return [worker.pid for worker in self.workers]

    def check(self) -> None:
        """Raise :class:`WorkerCrashed` when any worker failed or exited."""
        for worker in self.workers:
            worker.check()

    def any_ready(self) -> bool:
        return any(worker.ready.is_set() for worker in self.workers)

    def wait_ready(self, timeout_s: float = 0.05) -> None:
        """Wait a moment for a worker to get ready; raises :class:`WorkerCrashed` when one failed meanwhile."""
        self.workers[0].ready.wait(timeout_s)
        self.check()

    def submit(self, rows: Sequence[Sequence[Any]], n_columns: int) -> Pending | None:
        """Hand a chunk to the least busy ready worker; None when every ready worker has enough queued."""
        free = [w for w in self.workers if w.ready.is_set() and len(w.in_flight) < self.max_in_flight]
        if not free:
            return None
        return min(free, key=lambda w: len(w.in_flight)).submit(rows, n_columns)

    def close(self, kill: bool = False) -> None:
        """End every worker: idle ones at the end of their input, the rest (still starting, or ``kill``) at once."""
        stop_workers(self.workers, kill)
        self.workers = []


def stop_workers(workers: Sequence[Worker], kill: bool = False) -> None:
    """End ``workers``: idle ones at the end of their input, the rest (still starting, or ``kill``) at once."""
    for worker in workers:
        worker.closing = True
        if kill or not worker.ready.is_set():
            worker.process.kill()
    for worker in workers:
        worker.stop(kill or not worker.ready.is_set())
