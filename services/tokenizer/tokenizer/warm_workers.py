"""Tokenizer worker processes kept warm between jobs (:class:`WarmWorkers`, one per service process)."""

from __future__ import annotations

import logging
import queue
import threading
import time

from .workers import WAIT_TICK_S, Worker, WorkerCrashed, WorkerPool, stop_workers

log = logging.getLogger("tokenizer")


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
