"""Worker processes for big tokenize jobs: tokenizing and DocBin encoding beside the service process.

Tokenizing is Python-bound, one core per process. A big job starts a few workers
(``python -m tokenizer.workers <tokenizer> <service pid>``), each loading the pipeline once, and shares its chunks
between them and the service process, which also reads the next chunks and writes the finished ones meanwhile.
On a worker's stdin/stdout travel frames of an 8-byte length and a pickle (both ends are this module): the worker
answers ``("ready", pid)`` or ``("error", reason)`` once, then one ``("chunk", copy_payload)`` per
``(rows, n_columns)`` request, in order. It exits at the end of its input and dies with the service (Linux
parent-death signal; elsewhere its next read ends). The service keeps workers warm between jobs (:class:`WarmWorkers`).
A job waiting for a worker checks every :data:`WAIT_TICK_S` that it lives and that the job goes on; a worker silent too
long on one chunk (``REFINERY_TOKENIZER_WORKER_ANSWER_S``) fails the job and is killed.

This module imports no spaCy at top level, so a worker can keep optional heavy imports out before loading it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import os
import pickle
import queue
import re
import signal
import struct
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import IO, Any

try:
    import fcntl
except ImportError:  # not on Windows
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger("tokenizer")

FRAME = struct.Struct(">Q")
BLANK_NAME = re.compile(r"^[a-z]{2,3}$")  # a language code: spacy.blank, which never needs torch
STOP_TIMEOUT_S = 10.0
PIPE_BYTES = 1 << 20
WAIT_TICK_S = 0.2  # how often a wait for a worker checks that it lives and that the job goes on


class WorkerCrashed(RuntimeError):
    """A worker process died or failed; the job fails with this reason."""


def write_frame(stream: IO[bytes], obj: Any) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(FRAME.pack(len(data)))
    stream.write(data)
    stream.flush()


def read_frame(stream: IO[bytes]) -> Any:
    """The next frame's object; EOFError when the other end closed."""
    head = stream.read(FRAME.size)
    if len(head) < FRAME.size:
        raise EOFError
    (size,) = FRAME.unpack(head)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return pickle.loads(data)  # noqa: S301 - frames come from this module in a process we started


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
            [sys.executable, "-m", "tokenizer.workers", tokenizer, str(os.getpid())],
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


class WarmWorkers:
    """Worker processes kept alive between jobs, so a job does not pay their start (~1.2 CPU-seconds each).

    ``acquire`` hands a job the idle workers of its pipeline (starting the missing ones; idle workers of another
    pipeline are ended first, so the workers never outnumber a job's); ``release`` takes them back after a clean run
    and ends them after any failure or cancel (a worker that may still hold a chunk is never reused). Idle workers end
    after ``idle_s`` seconds. Every worker is started by one long-lived thread of this process: Linux's parent-death
    signal fires when the *thread* that started a process ends, so a worker started by a short-lived thread would die
    with it rather than with the service.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: list[tuple[Worker, float]] = []  # (worker, idle since: time.monotonic())
        self._calls: queue.SimpleQueue[_SpawnCall | None] = queue.SimpleQueue()
        self._owner: threading.Thread | None = None
        self.idle_s = 300.0
        self.answer_s = 600.0  # how long ``spawn`` waits for the owner thread; 0 = no limit

    def _start_owner(self) -> None:
        if self._owner is None or not self._owner.is_alive():
            self._owner = threading.Thread(target=self._own, name="tokenize-workers", daemon=True)
            self._owner.start()

    def _own(self) -> None:
        """The owner thread: start workers when asked; end idle workers past their idle time. It must live as long
        as the service (its end would kill every worker it started, busy ones included), so a failure is logged."""
        while True:
            try:
                call = self._calls.get(timeout=max(1.0, min(self.idle_s, 30.0)) if self.idle_s > 0 else 30.0)
            except queue.Empty:
                call = None
            else:
                if call is None:
                    return
            try:
                if call is not None:
                    call.answer(self._start(call.tokenizer))
                self.reap()
            except Exception:  # noqa: BLE001 - logged; the thread goes on
                log.exception("the tokenizer's worker-owner thread failed; it goes on")

    @staticmethod
    def _start(tokenizer: str) -> Worker | BaseException:
        try:
            return Worker(tokenizer)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller, which raises it
            return exc

    def spawn(self, tokenizer: str) -> Worker:
        """A new worker process for ``tokenizer``, started by the owner thread; raises :class:`WorkerCrashed` when
        none came within ``answer_s`` seconds (one that comes later is ended)."""
        call = _SpawnCall(tokenizer)
        with self._lock:
            self._start_owner()
            self._calls.put(call)
        started = time.monotonic()
        while True:
            try:
                result = call.results.get(timeout=WAIT_TICK_S)
                break
            except queue.Empty:
                pass
            if self.answer_s > 0 and time.monotonic() - started > self.answer_s:
                late = call.abandon()
                if isinstance(late, Worker):
                    stop_workers([late], kill=True)
                raise WorkerCrashed(f"no tokenizer worker process was started within {self.answer_s:g} s")
            with self._lock:
                self._start_owner()  # should the owner thread have ended, a new one takes the waiting call
        if isinstance(result, BaseException):
            raise result
        return result

    def reap(self, now: float | None = None) -> int:
        """End the idle workers idle longer than ``idle_s`` and the ones that died; how many ended."""
        now = time.monotonic() if now is None else now
        with self._lock:
            expired = [w for w, since in self._idle if now - since >= self.idle_s or not _healthy(w)]
            self._idle = [(w, since) for w, since in self._idle if w not in expired]
        stop_workers(expired)
        return len(expired)

    def acquire(self, tokenizer: str, count: int) -> WorkerPool:
        """A pool of ``count`` workers for ``tokenizer``: idle warm ones first, then new ones."""
        with self._lock:
            mine = [w for w, _ in self._idle if w.tokenizer == tokenizer and _healthy(w)][:count]
            others = [w for w, _ in self._idle if w not in mine]
            self._idle = []
        stop_workers(others, kill=True)  # another pipeline's (or dead, or surplus): replaced
        try:
            while len(mine) < count:
                mine.append(self.spawn(tokenizer))
        except BaseException:
            stop_workers(mine, kill=True)
            raise
        return WorkerPool(tokenizer, count, workers=mine)

    def release(self, pool: WorkerPool, clean: bool) -> None:
        """Take a job's workers back: kept warm after a clean run (when ``idle_s`` > 0), ended otherwise."""
        workers, pool.workers = pool.workers, []
        if not clean or self.idle_s <= 0:
            stop_workers(workers, kill=True)
            return
        keep = [w for w in workers if _healthy(w) and not w.in_flight]
        now = time.monotonic()
        with self._lock:
            self._idle.extend((w, now) for w in keep)
        stop_workers([w for w in workers if w not in keep], kill=True)

    def prestart(self, tokenizer: str, count: int) -> None:
        """Start ``count`` idle workers for ``tokenizer`` now (they load it while the service starts)."""
        if count <= 0 or self.idle_s <= 0:
            return
        self.release(self.acquire(tokenizer, count), clean=True)

    def idle(self) -> list[Worker]:
        with self._lock:
            return [w for w, _ in self._idle]

    def close(self) -> None:
        """End every idle worker (the service stops; tests)."""
        with self._lock:
            workers = [w for w, _ in self._idle]
            self._idle = []
        stop_workers(workers, kill=True)


class _SpawnCall:
    """A request to the owner thread for a new worker, and its answer; a caller that gave up never gets one."""

    def __init__(self, tokenizer: str) -> None:
        self.tokenizer = tokenizer
        self.results: queue.SimpleQueue[Worker | BaseException] = queue.SimpleQueue()
        self.lock = threading.Lock()
        self.abandoned = False

    def answer(self, result: Worker | BaseException) -> None:
        """Hand ``result`` to the caller; a worker nobody waits for any more is ended."""
        with self.lock:
            if not self.abandoned:
                self.results.put(result)
                return
        if isinstance(result, Worker):
            stop_workers([result], kill=True)

    def abandon(self) -> Worker | BaseException | None:
        """Give up waiting; the answer that came meanwhile, if any."""
        with self.lock:
            self.abandoned = True
            try:
                return self.results.get_nowait()
            except queue.Empty:
                return None


def _healthy(worker: Worker) -> bool:
    return worker.failure is None and not worker.closing and worker.process.poll() is None


warm_workers = WarmWorkers()


def _die_with_parent(parent: int) -> None:
    """Ask Linux to kill this process when the thread that started it ends (the service's worker-owner thread, which
    lives as long as the service; or the service itself); exit if the parent is already gone."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(1)


def _read_requests(stdin: IO[bytes], requests: queue.SimpleQueue[bytes | None]) -> None:
    """Drain stdin as requests arrive, so the service never blocks writing the next chunk while this one encodes."""
    try:
        while True:
            head = stdin.read(FRAME.size)
            if len(head) < FRAME.size:
                break
            (size,) = FRAME.unpack(head)
            data = stdin.read(size)
            if len(data) < size:
                break
            requests.put(data)
    finally:
        requests.put(None)


def main(argv: list[str]) -> int:
    """The worker process: load the pipeline once, then encode chunks from stdin to stdout until stdin ends."""
    tokenizer, parent = argv[0], int(argv[1])
    _die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C on the service's terminal is the service's to handle
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # stray prints must not corrupt the frames
    if BLANK_NAME.match(tokenizer):
        # thinc imports torch when installed (seconds, ~200 MB); a blank pipeline never uses it
        sys.modules.setdefault("torch", None)  # type: ignore[arg-type]
    try:
        from .chunks import encode_chunk
        from .docbin import DocBinEncoder
        from .pipelines import get_nlp

        nlp = get_nlp(tokenizer)
        encoder = DocBinEncoder(nlp)
    except Exception as exc:  # noqa: BLE001 - reported to the service, which fails the job with it
        write_frame(stdout, ("error", f"{type(exc).__name__}: {exc}"))
        return 1
    gc.freeze()  # the pipeline's objects are permanent: keep the collector from rescanning them
    requests: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
    threading.Thread(target=_read_requests, args=(stdin, requests), daemon=True).start()
    write_frame(stdout, ("ready", os.getpid()))
    while True:
        request = requests.get()
        if request is None:
            return 0
        rows, n_columns = pickle.loads(request)  # noqa: S301 - frames come from the service that started us
        gc.disable()  # a chunk's objects die by reference counting; cycle scans in between only cost time
        try:
            payload = encode_chunk(nlp, encoder, rows, n_columns)
        except Exception as exc:  # noqa: BLE001 - reported to the service, which fails the job with it
            write_frame(stdout, ("error", f"{type(exc).__name__}: {exc}"))
            return 1
        finally:
            gc.enable()
        write_frame(stdout, ("chunk", payload))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
