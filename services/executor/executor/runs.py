"""Running user code over a project's records: one pass of sandboxed workers, each running some of the functions on
every batch of records (a worker that fails is replaced, its culprit named).

The pieces it uses have modules of their own: :mod:`executor.project_context` (what a run knows and runs),
:mod:`executor.record_batches` (reading the records) and :mod:`executor.result_checks` (checking what comes back).

Why ~410 lines: the one-pass scheduler (workers, their functions, replacing a failed worker) is one loop over
shared state; partitions (:mod:`executor.partitions`) are the other way to run.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Generator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from shared_model.settings import get_settings

from .codecheck import needs_docs
from .project_context import FunctionSpec, ProjectContext
from .record_batches import BatchSize, IdRange, raw_record_batches, record_batches
from .result_checks import check_results, failed_in, foreign_results, refuse, result_problems
from .sandbox.backends import SANDBOX_EXTRA, Limits, get_backend
from .sandbox.session import Culprit, SandboxError, WorkerSession

BATCH_SIZE = 2000  # records per batch at most

__all__ = ["SandboxError", "run_functions", "pass_workers", "split_specs", "extra_packages_dir"]


def extra_packages_dir() -> Path:
    """Where the deployment's extra packages for the sandbox are installed."""
    return get_settings().data_dir.resolve() / "sandbox-packages"


OnBatch = Callable[[dict[str, Any], int], None]


def pass_workers() -> int:
    """How many sandboxed workers a full run of several heuristics may use (the ``executor_workers`` setting)."""
    configured = get_settings().executor_workers
    return configured if configured > 0 else max(1, min(4, os.cpu_count() or 1))


def split_specs(specs: list[FunctionSpec], workers: int) -> list[list[FunctionSpec]]:
    """``specs`` dealt round-robin to at most ``workers`` groups (one worker pass each; never an empty group)."""
    count = max(1, min(workers, len(specs)))
    return [specs[i::count] for i in range(count)]


def run_functions(
    context: ProjectContext,
    specs: list[FunctionSpec],
    *,
    record_ids: list[int] | None,
    limits: Limits,
    on_ready: Callable[[dict[str, Any]], None] | None = None,
    on_batch: OnBatch | None = None,
    per_record_stdout: bool = False,
    stop_on_error: bool = False,
    token_counts: dict[str, str] | None = None,
    batch_size: int | None = None,
    poll: Callable[[], None] | None = None,
    compact_hits: bool = False,
    refuse_per_function: bool = False,
    workers: int = 1,
    id_range: IdRange | None = None,
) -> dict[str, Any]:
    """Run ``specs`` over the records in sandboxed workers; returns the per-function readiness.

    Each function runs in exactly one worker; with ``workers`` > 1 the functions are dealt to up to that many
    workers, which get the same record batches (read once) and run side by side (on as many cores).
    ``on_batch(message, records_done)`` gets each worker's results of each batch; with ``compact_hits`` plain str
    results without output come as ``message["hits"][function id][value] = [record ids]`` instead of entries. Results
    the sandbox should not have sent (records not in the batch, two for one record, counts out of range) raise
    :class:`SandboxError`, or with ``refuse_per_function`` only drop that function's results and name the reason in
    ``message["refused"][function id]``. Raises :class:`SandboxError` when a sandbox cannot finish (time, crash,
    output) and ``SandboxUnavailable`` when there is no sandbox. ``id_range`` (with ``record_ids`` None): only the
    records whose ids are in that range (a partition, see :mod:`executor.partitions`).
    """
    backend = get_backend()
    text_attributes = set(context.text_attributes)
    with_docs = bool(token_counts) or any(needs_docs(s.code, text_attributes, s.entry) for s in specs)
    extra = extra_packages_dir()
    common = {
        "knowledge": context.knowledge,
        "tokenizer": context.tokenizer,
        "text_attributes": sorted(text_attributes),
        "per_record_stdout": per_record_stdout,
        "stop_on_error": stop_on_error,
        "stdout_cap": min(limits.max_output_bytes, 100_000),
        "compact_hits": compact_hits,
        "extra_paths": [SANDBOX_EXTRA] if extra.is_dir() else [],
    }
    groups = split_specs(specs, workers)
    extra_dir = extra if extra.is_dir() else None

    def start(group: list[FunctionSpec], deadline: float | None = None) -> WorkerSession:
        """A worker for ``group``, its setup sent (the answer is read by :meth:`_Worker.ready`)."""
        worker = WorkerSession(backend, limits, extra_dir, poll=poll, deadline=deadline)
        worker.__enter__()
        try:
            ids = {s.id for s in group}
            worker.send(
                {
                    **common,
                    "functions": [{"id": s.id, "mode": s.mode, "code": s.code, "label": s.label or s.id} for s in group],
                    "token_counts": {k: v for k, v in (token_counts or {}).items() if k in ids},
                    "progress_fd": worker.progress_fd,
                },
                "starting the code",
            )
        except BaseException:
            worker.close()
            raise
        return worker

    with ExitStack() as stack:
        started: list[_Worker] = []
        for group in groups:  # all start before any is waited for: their start-up overlaps
            worker = _Worker(start(group), list(group), start)
            stack.callback(worker.close)
            started.append(worker)
        readiness: dict[str, Any] = {}
        live: list[_Worker] = []
        for worker in started:
            readiness.update(worker.ready(refuse_per_function))  # only its own functions: none speaks for another's
            if worker.specs:
                live.append(worker)
            else:
                worker.close()
        if on_ready is not None:
            on_ready(readiness)
        if not live:
            return readiness
        timings = _pass(context, live, record_ids, with_docs, batch_size, poll, on_batch, refuse_per_function, id_range)
        readiness["__timings__"] = timings
    return readiness


class _Worker:
    """A worker of a pass and the functions it runs; when a function hangs or kills the worker, a new worker takes
    over the others (:meth:`replace`)."""

    def __init__(self, session: WorkerSession, specs: list[FunctionSpec], start: Callable[..., WorkerSession]) -> None:
        self.session = session
        self.specs = specs  # in the worker's setup order (the watchdog names a function by its index)
        self.start = start
        self.failed: set[str] = set()  # functions that failed on a record (the worker applies them no more)
        self.deadline = session.deadline

    @property
    def ids(self) -> set[str]:
        return {s.id for s in self.specs}

    @property
    def names(self) -> list[str]:
        return [s.label or s.id for s in self.specs]

    def close(self) -> None:
        self.session.close()

    def lost(self, error: SandboxError) -> dict[str, Any]:
        """The batch message that fails this worker's functions with ``error`` (it crashed, ran out of time, …)."""
        reason = str(error) if len(self.ids) == 1 else f"{error}\n(the sandbox ran {', '.join(self.names)})"
        return {"results": {}, "refused": dict.fromkeys(self.ids, reason)}

    def blame(self, error: SandboxError) -> FunctionSpec | None:
        """The function that was running when the worker had to be stopped (None: not one function's doing)."""
        culprit = error.culprit
        if culprit is None or not 0 <= culprit.function < len(self.specs):
            return None
        return self.specs[culprit.function]

    def ready(self, refuse_per_function: bool) -> dict[str, Any]:
        """Each function's readiness. A function whose module-level code hangs or kills the worker fails alone (with
        ``refuse_per_function``): a new worker starts the others."""
        while True:
            try:
                answer = self.session.receive("starting the code").get("ready") or {}
                break
            except SandboxError as error:
                culprit = self.blame(error)
                if not refuse_per_function or culprit is None:
                    raise
                failure = {culprit.id: {"error": _failure(error, None, 0), "is_generator": None}}
                self.session.close()
                self.specs = [s for s in self.specs if s.id != culprit.id]
                if not self.specs:
                    return failure
                self.session = self.start(self.specs, self.deadline)
                answer = self.ready(refuse_per_function)
                return {**failure, **answer}
        ids = self.ids
        ready = {fid: info for fid, info in answer.items() if fid in ids} if isinstance(answer, dict) else {}
        for fid, info in ready.items():
            if not (isinstance(info, dict) and info.get("error") is None):
                self.failed.add(fid)
        if all(s.id in self.failed or s.id not in ready for s in self.specs):
            self.specs = []
        return ready

    def replace(self) -> dict[str, str]:
        """A new worker for the functions that have not failed (after one was blamed); the functions that could not
        start in it this time, with the reason. ``specs`` is empty when none is left."""
        self.session.close()
        self.specs = [s for s in self.specs if s.id not in self.failed]
        self.failed = set()
        if not self.specs:
            return {}
        self.session = self.start(self.specs, self.deadline)
        refused = {
            fid: f"the code could not start again in a new sandbox: {info.get('error') if isinstance(info, dict) else info}"
            for fid, info in self.ready(True).items()
            if not (isinstance(info, dict) and info.get("error") is None)
        }
        self.specs = [s for s in self.specs if s.id not in refused]
        self.failed = set()
        return refused


def _record_name(context: ProjectContext, batch: dict[str, Any], position: int) -> str:
    """How the user knows the record at ``position`` of a batch: its primary key value where the project has one,
    else its id."""
    record_id: Any = None
    data: Any = None
    try:
        if "raw" in batch:
            line = bytes(batch["raw"]).split(b"\n")[position]
            raw_id, _, raw_data = line.partition(b"\t")
            record_id = int(raw_id)
            if context.primary_key is not None:
                data = json.loads(raw_data.replace(b"\\\\", b"\\"))
        else:
            row = batch["records"][position]
            record_id, data = row[0], row[1]
    except (IndexError, ValueError):
        return "an unknown record"
    if context.primary_key is not None and isinstance(data, dict) and data.get(context.primary_key) is not None:
        value = str(data[context.primary_key])
        return f"{context.primary_key} {value[:80]}, record id {record_id}"
    return f"record id {record_id}"


def _failure(error: SandboxError, where: str | None, done: int) -> str:
    """The user's message for a function that had to be stopped: what happened, on which record (position in the
    pass, 1-based, and its name)."""
    culprit: Culprit | None = error.culprit
    assert culprit is not None
    on = f"on record {done + culprit.position + 1} ({where})" if where is not None and culprit.position >= 0 else ""
    if culprit.limit_s is not None:
        if culprit.position < 0:
            return f"its code took more than {culprit.limit_s:g} s to start (module-level code, imports)"
        return f"timed out {on} after {culprit.limit_s:g} s (the limit of one call on one record)"
    return f"{error.reason.splitlines()[0]} {on}".rstrip() + "".join(f"\n{line}" for line in error.reason.splitlines()[1:])


def _pass(
    context: ProjectContext,
    workers: list[_Worker],
    record_ids: list[int] | None,
    with_docs: bool,
    batch_size: int | None,
    poll: Callable[[], None] | None,
    on_batch: OnBatch | None,
    refuse_per_function: bool,
    id_range: IdRange | None = None,
) -> dict[str, float]:
    """Every batch to every worker (see :class:`_Pass`); the pass's timings."""
    size = BatchSize(batch_size or BATCH_SIZE)
    batches: Generator[tuple[list[int], Any], None, None]
    source: Generator[Any, None, None]
    if record_ids is None and not with_docs:
        source = raw_record_batches(context.project_id, size, poll, id_range)
        batches = ((raw.ids, {"raw": raw.payload}) for raw in source)
    else:
        source = record_batches(context.project_id, record_ids, with_docs, size, id_range)
        batches = (([row[0] for row in rows], {"records": rows}) for rows in source)
    try:
        return _Pass(context, workers, on_batch, refuse_per_function).run(batches, size)
    finally:
        # the reader itself, at once: a pass that ends early (a cancel) must not leave the records' COPY and its
        # transaction open until the garbage collector frees a traceback's frames (it blocked TRUNCATE and DDL)
        source.close()


_Batch = tuple[list[int], Any]  # a batch's record ids and what is sent to the workers


class _Pass:
    """Every batch to every worker: the next batch is read, and sent to a worker as soon as it has answered the
    current one, so that no worker waits for the others' results to be handled. With ``refuse_per_function``, a
    worker that fails (crash, limit) fails only its own functions and the others go on."""

    def __init__(
        self, context: ProjectContext, workers: list[_Worker], on_batch: OnBatch | None, refuse_per_function: bool
    ) -> None:
        self.context = context
        self.workers = workers
        self.alive = list(workers)
        self.on_batch = on_batch
        self.refuse_per_function = refuse_per_function
        self.done = 0  # records of the pass whose results are handled
        self.timings = {"load_s": 0.0, "wait_s": 0.0, "collect_s": 0.0}
        self.cpu = [0.0] * len(workers)

    def run(self, batches: Generator[_Batch, None, None], size: BatchSize) -> dict[str, float]:
        mark = time.perf_counter()
        try:
            current = next(batches, None)
            if current is not None:
                for worker in list(self.alive):
                    self.send(worker, current, self.done)
            turned = time.perf_counter()  # when the workers started on the current batch
            while current is not None and self.alive:
                now = time.perf_counter()
                upcoming = next(batches, None)  # the next batch is read while the workers run
                self.timings["load_s"] += time.perf_counter() - now
                answers = [self.answer(worker, current, upcoming) for worker in list(self.alive)]
                size.observe(len(current[0]), time.perf_counter() - turned)
                turned = time.perf_counter()
                self.collect(current[0], [answer for answer in answers if answer is not None])
                current = upcoming
        finally:
            batches.close()  # stops the reader thread when the pass ends early
        timings = self.timings
        timings["total_s"] = time.perf_counter() - mark
        timings["lost_workers"] = len(self.workers) - len(self.alive)
        timings["worker_cpu_s"] = sum(self.cpu)
        timings["busiest_worker_cpu_s"] = max(self.cpu)
        timings["workers"] = len(self.workers)
        return {key: round(value, 3) for key, value in timings.items()}

    def send(self, worker: _Worker, batch: _Batch, before: int) -> bool:
        """``batch`` to ``worker``; False when the worker failed and no new one took it over."""
        try:
            worker.session.send(batch[1], _span(batch[0]))
        except SandboxError as error:
            return self.fails(worker, error, batch, before)
        return True

    def answer(
        self, worker: _Worker, current: _Batch, upcoming: _Batch | None
    ) -> tuple[_Worker, dict[str, Any], set[str]] | None:
        """The worker's message for ``current`` (None: it failed), once ``upcoming`` is sent to it."""
        ids = current[0]
        what = _span(ids)
        message: dict[str, Any] | None = None
        while message is None:
            now = time.perf_counter()
            try:
                message = worker.session.receive(what)
            except SandboxError as error:
                if self.fails(worker, error, current, self.done):
                    continue  # a new worker has the batch: wait for its answer
                return None
            self.timings["wait_s"] += time.perf_counter() - now
        sender = worker.ids  # the functions of the process that sent it (a replacement may run fewer)
        # this worker starts on the next batch while the results are handled
        if upcoming is not None and not self.send(worker, upcoming, self.done + len(ids)):
            return None
        if isinstance(message.get("cpu_s"), float):
            self.cpu[self.workers.index(worker)] = message["cpu_s"]
        return worker, message, sender

    def collect(self, ids: list[int], answers: list[tuple[_Worker, dict[str, Any], set[str]]]) -> None:
        """The workers' results of a batch: checked, then handed to ``on_batch``."""
        now = time.perf_counter()
        what = _span(ids)
        self.done += len(ids)
        for worker, message, sender in answers:
            if self.refuse_per_function:
                refuse(message, foreign_results(message, sender) or result_problems(message, set(ids), what), what)
            else:
                if foreign_results(message, sender):
                    raise SandboxError(f"{what}: the sandbox sent results of code it does not run")
                check_results(message, set(ids), what)
            worker.failed.update(failed_in(message))
            if self.on_batch is not None:
                self.on_batch(message, self.done)
        self.timings["collect_s"] += time.perf_counter() - now

    def fails(self, worker: _Worker, error: SandboxError, batch: _Batch | None, before: int) -> bool:
        """The worker is gone. The function that was running (when the watchdog knows it) fails alone, and a new
        worker takes over the others and gets ``batch`` again (True); else all its functions fail at once (or,
        without per-function refusals, the pass). ``before``: records of the pass before ``batch``."""
        culprit = worker.blame(error)
        position = error.culprit.position if error.culprit is not None else -1
        where = _record_name(self.context, batch[1], position) if culprit and batch and position >= 0 else None
        if not self.refuse_per_function:
            if culprit is None:
                raise error
            span = _span(batch[0]) if batch else "starting the code"
            reason = _failure(error, where, before)
            raise SandboxError(f"{span}: {reason}", reason=reason, culprit=error.culprit) from error
        if culprit is None:
            self.alive.remove(worker)
            worker.close()
            if self.on_batch is not None:
                self.on_batch(worker.lost(error), before)
            return False
        worker.failed.add(culprit.id)
        refused = {culprit.id: _failure(error, where, before)}
        refused.update(worker.replace())
        if self.on_batch is not None:
            self.on_batch({"results": {}, "refused": refused}, before)
        if not worker.specs:
            self.alive.remove(worker)
            return False
        return batch is None or self.send(worker, batch, before)


def _span(ids: list[int]) -> str:
    return f"records {ids[0]}–{ids[-1]}" if ids else "records"
