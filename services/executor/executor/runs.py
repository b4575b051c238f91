"""Running user code over a project's records: data loading, one worker pass, result checks."""

from __future__ import annotations

import json
import os
import queue
import re
import threading
import time
import uuid
from collections.abc import Callable, Generator, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg2
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from shared_model.db import dsn, session_scope
from shared_model.heuristic_results import INT32_MAX  # token positions and counts are Postgres integers
from shared_model.models import Attribute, DataType, LookupList, Project, Term
from shared_model.settings import get_settings

from .codecheck import needs_docs
from .sandbox.backends import SANDBOX_EXTRA, Limits, get_backend
from .sandbox.session import Culprit, SandboxError, WorkerSession

SAMPLE_LIMITS = Limits(wall_time_s=30.0, cpu_time_s=30)
FULL_LIMITS = Limits(wall_time_s=3600.0, cpu_time_s=3600)
BATCH_SIZE = 2000  # records per batch at most
FIRST_BATCH = 100  # the first batches: progress and output come early, whatever the code costs
SMALLEST_BATCH = 20
BATCH_TARGET_S = 1.0  # batch sizes adapt so that the worker spends about this long on one
MAX_INVALID_LISTED = 10

__all__ = ["SandboxError", "ProjectContext", "FunctionSpec", "load_context", "run_functions", "LabelChecker"]


@dataclass
class ProjectContext:
    """What a run needs to know about its project."""

    project_id: uuid.UUID
    tokenizer: str
    attribute_types: dict[str, DataType]
    knowledge: dict[str, list[str]]
    limit_overrides: dict[str, Any]
    primary_key: str | None = None  # the attribute that names a record for the user (errors say "id=17")

    @property
    def text_attributes(self) -> list[str]:
        return [name for name, kind in self.attribute_types.items() if kind == DataType.TEXT]

    def limits(self, base: Limits) -> Limits:
        return Limits.merged(base, self.limit_overrides)


@dataclass
class FunctionSpec:
    """One piece of user code in a pass: ``mode`` lf (labeling function), ac (attribute calculation) or ide."""

    id: str
    mode: str
    code: str
    label: str = ""

    @property
    def entry(self) -> str | None:
        return {"lf": "lf", "ac": "ac"}.get(self.mode)


def load_context(session: Session, project_id: uuid.UUID) -> ProjectContext:
    """The project's tokenizer, attribute types, lookup lists and sandbox limits; LookupError if it does not exist."""
    project = session.get(Project, project_id)
    if project is None:
        raise LookupError(f"project {project_id} does not exist")
    attributes = session.execute(
        select(Attribute.name, Attribute.data_type, Attribute.is_primary_key)
        .where(Attribute.project_id == project_id)
        .order_by(Attribute.relative_position)
    ).all()
    knowledge: dict[str, list[str]] = {}
    rows = session.execute(
        select(LookupList.python_name, Term.value)
        .join(Term, Term.lookup_list_id == LookupList.id, isouter=True)
        .where(LookupList.project_id == project_id)
        .where((Term.blacklisted.is_(False)) | (Term.id.is_(None)))
        .order_by(LookupList.python_name, Term.created_at, Term.value)
    ).all()
    for python_name, value in rows:
        terms = knowledge.setdefault(python_name, [])
        if value is not None:
            terms.append(value)
    overrides = project.settings.get("sandbox_limits") if isinstance(project.settings, dict) else None
    return ProjectContext(
        project_id=project_id,
        tokenizer=project.tokenizer,
        attribute_types={name: kind for name, kind, _ in attributes},
        knowledge=knowledge,
        limit_overrides=overrides if isinstance(overrides, dict) else {},
        primary_key=next((name for name, _, key in attributes if key), None),
    )


def sample_record_ids(session: Session, project_id: uuid.UUID, size: int) -> list[int]:
    """``size`` random record ids of the project."""
    rows = session.execute(
        text("SELECT id FROM record WHERE project_id = :p ORDER BY random() LIMIT :n"), {"p": project_id, "n": size}
    )
    return sorted(int(row[0]) for row in rows)


def count_records(session: Session, project_id: uuid.UUID) -> int:
    return int(session.execute(text("SELECT count(*) FROM record WHERE project_id = :p"), {"p": project_id}).scalar_one())


Batch = list[tuple[int, dict[str, Any], bytes | None, list[str]]]
_ROW_ID = re.compile(rb"^(\d+)\t", re.MULTILINE)


class BatchSize:
    """Records per batch, read by the record readers at every cut and adapted from how long the worker takes: slow
    code gets small batches (progress, printed output and cancellation stay prompt), fast code the largest."""

    def __init__(self, largest: int, first: int | None = None) -> None:
        self.largest = max(1, largest)
        self.value = max(1, min(FIRST_BATCH if first is None else first, self.largest))

    def observe(self, records: int, seconds: float) -> None:
        """The worker took ``seconds`` (wall time) for a batch of ``records``."""
        if records <= 0:
            return
        wanted = self.largest if seconds <= 0 else int(BATCH_TARGET_S * records / seconds)
        self.value = max(min(SMALLEST_BATCH, self.largest), min(self.largest, wanted))


def _sizer(size: int | BatchSize) -> BatchSize:
    return size if isinstance(size, BatchSize) else BatchSize(size, first=size)


def record_batches(
    project_id: uuid.UUID, record_ids: list[int] | None, with_docs: bool, size: int | BatchSize
) -> Iterator[Batch]:
    """The project's records (all, or ``record_ids``) in id order, with their DocBin when ``with_docs``; ``size``
    records per batch (a :class:`BatchSize` is read anew for every batch)."""
    sizer = _sizer(size)
    docs_select = ", rt.bytes, rt.columns" if with_docs else ", NULL, NULL"
    docs_join = " LEFT JOIN record_tokenized rt ON rt.record_id = r.id" if with_docs else ""
    base = f"SELECT r.id, r.data{docs_select} FROM record r{docs_join} WHERE r.project_id = :p"
    if record_ids is not None:
        start = 0
        while start < len(record_ids):
            chunk = record_ids[start : start + sizer.value]
            start += len(chunk)
            with session_scope() as session:
                found = session.execute(text(base + " AND r.id = ANY(:ids) ORDER BY r.id"), {"p": project_id, "ids": chunk})
                yield [(int(r[0]), r[1], bytes(r[2]) if r[2] is not None else None, r[3] or []) for r in found]
        return
    last = -1
    while True:
        size = sizer.value
        with session_scope() as session:
            rows = session.execute(
                text(base + " AND r.id > :last ORDER BY r.id LIMIT :n"), {"p": project_id, "last": last, "n": size}
            ).all()
        if not rows:
            return
        yield [(int(r[0]), r[1], bytes(r[2]) if r[2] is not None else None, r[3] or []) for r in rows]
        last = int(rows[-1][0])
        if len(rows) < size:
            return


@dataclass
class RawBatch:
    """Records as ``COPY`` text lines (``id<TAB>data as JSON``); the sandboxed worker decodes them itself."""

    ids: list[int]
    payload: bytes


class _Stop(Exception):
    """The consumer of a record stream went away."""


class _CopyBatcher:
    """The file psycopg2 writes ``COPY … TO STDOUT`` into: cuts the stream into batches of about ``size`` rows."""

    def __init__(self, size: BatchSize, emit: Callable[[bytes], None], stopped: threading.Event) -> None:
        self.size = size
        self.emit = emit
        self.stopped = stopped
        self.parts: list[bytes] = []
        self.rows = 0

    def write(self, data: bytes | str) -> int:
        if self.stopped.is_set():
            raise _Stop()
        chunk = data.encode("utf-8") if isinstance(data, str) else bytes(data)
        self.parts.append(chunk)
        self.rows += chunk.count(b"\n")  # text COPY escapes newlines inside values: one per row
        if self.rows >= self.size.value and chunk.endswith(b"\n"):
            self.flush()
        return len(data)

    def flush(self) -> None:
        if self.parts:
            self.emit(b"".join(self.parts))
        self.parts, self.rows = [], 0


def raw_record_batches(
    project_id: uuid.UUID, size: int | BatchSize, poll: Callable[[], None] | None = None
) -> Generator[RawBatch, None, None]:
    """All records of the project in id order, streamed by one ``COPY`` in a reader thread while the caller works.

    The JSON is not decoded here: the sandboxed worker does that (``data::text`` never holds a raw tab or newline, so
    a line is one record and the only ``COPY`` escaping to undo is the doubled backslash). While it waits for the
    reader, the caller's ``poll`` is called about once a second (it may raise, e.g. on a cancellation), and a reader
    that ended without a word is an error rather than an endless wait.
    """
    batches: queue.Queue[RawBatch | BaseException | None] = queue.Queue(maxsize=4)
    stopped = threading.Event()

    def put(item: RawBatch | BaseException | None) -> None:
        while not stopped.is_set():
            try:
                batches.put(item, timeout=0.5)
                return
            except queue.Full:
                continue
        raise _Stop()

    def emit(payload: bytes) -> None:
        put(RawBatch([int(i) for i in _ROW_ID.findall(payload)], payload))

    def read() -> None:
        connection = None
        try:
            connection = psycopg2.connect(dsn())
            connection.set_client_encoding("UTF8")
            with connection.cursor() as cursor:
                sql = cursor.mogrify(
                    "COPY (SELECT id, data::text FROM record WHERE project_id = %s ORDER BY id) TO STDOUT", (str(project_id),)
                )
                batcher = _CopyBatcher(_sizer(size), emit, stopped)
                cursor.copy_expert(sql.decode(), batcher)
                batcher.flush()
            put(None)
        except _Stop:
            pass
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which raises it
            try:
                put(exc)
            except _Stop:
                pass
        finally:
            if connection is not None:
                connection.close()

    reader = threading.Thread(target=read, name="record-reader", daemon=True)
    reader.start()
    try:
        while True:
            item = _next_item(batches, reader, poll)
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stopped.set()
        reader.join(5.0)


def _next_item(
    batches: queue.Queue[RawBatch | BaseException | None], reader: threading.Thread, poll: Callable[[], None] | None
) -> RawBatch | BaseException | None:
    """The reader's next item; ``poll`` about once a second while waiting; an error if the reader died silently."""
    while True:
        try:
            return batches.get(timeout=1.0)
        except queue.Empty:
            pass
        if not reader.is_alive():
            try:  # it may have put its last item just before it ended
                return batches.get_nowait()
            except queue.Empty:
                raise RuntimeError("reading the records stopped without a result") from None
        if poll is not None:
            poll()


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
) -> dict[str, Any]:
    """Run ``specs`` over the records in sandboxed workers; returns the per-function readiness.

    Each function runs in exactly one worker; with ``workers`` > 1 the functions are dealt to up to that many
    workers, which get the same record batches (read once) and run side by side (on as many cores).
    ``on_batch(message, records_done)`` gets each worker's results of each batch; with ``compact_hits`` plain str
    results without output come as ``message["hits"][function id][value] = [record ids]`` instead of entries. Results
    the sandbox should not have sent (records not in the batch, two for one record, counts out of range) raise
    :class:`SandboxError`, or with ``refuse_per_function`` only drop that function's results and name the reason in
    ``message["refused"][function id]``. Raises :class:`SandboxError` when a sandbox cannot finish (time, crash,
    output) and ``SandboxUnavailable`` when there is no sandbox.
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
        timings = _pass(context, live, record_ids, with_docs, batch_size, poll, on_batch, refuse_per_function)
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
) -> dict[str, float]:
    """Every batch to every worker: the next batch is read, and sent to a worker as soon as it has answered the
    current one, so that no worker waits for the others' results to be handled. With ``refuse_per_function``, a
    worker that fails (crash, limit) fails only its own functions and the others go on."""
    size = BatchSize(batch_size or BATCH_SIZE)
    done = 0
    timings = {"load_s": 0.0, "wait_s": 0.0, "collect_s": 0.0}
    cpu = [0.0] * len(workers)
    batches: Generator[tuple[list[int], Any], None, None]
    if record_ids is None and not with_docs:
        batches = ((raw.ids, {"raw": raw.payload}) for raw in raw_record_batches(context.project_id, size, poll))
    else:
        batches = (
            ([row[0] for row in rows], {"records": rows})
            for rows in record_batches(context.project_id, record_ids, with_docs, size)
        )
    mark = time.perf_counter()
    try:
        alive = list(workers)

        def fails(worker: _Worker, error: SandboxError, batch: tuple[list[int], Any] | None, before: int) -> bool:
            """The worker is gone. The function that was running (when the watchdog knows it) fails alone, and a new
            worker takes over the others and gets ``batch`` again (True); else all its functions fail at once (or,
            without per-function refusals, the pass). ``before``: records of the pass before ``batch``."""
            culprit = worker.blame(error)
            position = error.culprit.position if error.culprit is not None else -1
            where = _record_name(context, batch[1], position) if culprit and batch and position >= 0 else None
            if not refuse_per_function:
                if culprit is None:
                    raise error
                span = _span(batch[0]) if batch else "starting the code"
                reason = _failure(error, where, before)
                raise SandboxError(f"{span}: {reason}", reason=reason, culprit=error.culprit) from error
            if culprit is None:
                alive.remove(worker)
                worker.close()
                if on_batch is not None:
                    on_batch(worker.lost(error), before)
                return False
            worker.failed.add(culprit.id)
            refused = {culprit.id: _failure(error, where, before)}
            refused.update(worker.replace())
            if on_batch is not None:
                on_batch({"results": {}, "refused": refused}, before)
            if not worker.specs:
                alive.remove(worker)
                return False
            if batch is not None:
                try:
                    worker.session.send(batch[1], _span(batch[0]))
                except SandboxError as again:
                    return fails(worker, again, batch, before)
            return True

        current = next(batches, None)
        if current is not None:
            for worker in list(alive):
                try:
                    worker.session.send(current[1], _span(current[0]))
                except SandboxError as error:
                    fails(worker, error, current, done)
        turned = time.perf_counter()  # when the workers started on the current batch
        while current is not None and alive:
            ids, _ = current
            what = _span(ids)
            now = time.perf_counter()
            upcoming = next(batches, None)  # the next batch is read while the workers run
            timings["load_s"] += time.perf_counter() - now
            messages: list[tuple[_Worker, dict[str, Any], set[str]]] = []
            for worker in list(alive):
                message: dict[str, Any] | None = None
                while message is None:
                    now = time.perf_counter()
                    try:
                        message = worker.session.receive(what)
                    except SandboxError as error:
                        if fails(worker, error, current, done):
                            continue  # a new worker has the batch: wait for its answer
                        break
                    timings["wait_s"] += time.perf_counter() - now
                if message is None:
                    continue
                sender = worker.ids  # the functions of the process that sent it (a replacement may run fewer)
                if upcoming is not None:  # this worker starts on the next batch while the results are handled
                    try:
                        worker.session.send(upcoming[1], _span(upcoming[0]))
                    except SandboxError as error:
                        if not fails(worker, error, upcoming, done + len(ids)):
                            continue
                if isinstance(message.get("cpu_s"), float):
                    cpu[workers.index(worker)] = message["cpu_s"]
                messages.append((worker, message, sender))
            size.observe(len(ids), time.perf_counter() - turned)
            turned = time.perf_counter()
            now = time.perf_counter()
            done += len(ids)
            for worker, message, sender in messages:
                if refuse_per_function:
                    _refuse(message, _foreign(message, sender) or result_problems(message, set(ids), what), what)
                else:
                    if _foreign(message, sender):
                        raise SandboxError(f"{what}: the sandbox sent results of code it does not run")
                    _check_results(message, set(ids), what)
                worker.failed.update(_failed_in(message))
                if on_batch is not None:
                    on_batch(message, done)
            timings["collect_s"] += time.perf_counter() - now
            current = upcoming
    finally:
        batches.close()  # stops the reader thread when the pass ends early
    timings["total_s"] = time.perf_counter() - mark
    timings["lost_workers"] = len(workers) - len(alive)
    timings["worker_cpu_s"] = sum(cpu)
    timings["busiest_worker_cpu_s"] = max(cpu)
    timings["workers"] = len(workers)
    return {key: round(value, 3) for key, value in timings.items()}


def _failed_in(message: dict[str, Any]) -> set[str]:
    """The functions that a batch's message fails: an error on a record, or results refused."""
    failed = set(message.get("refused") or {})
    results = message.get("results")
    if isinstance(results, dict):
        failed.update(fid for fid, entries in results.items() if any(entry[2] is not None for entry in entries))
    return failed


def _foreign(message: dict[str, Any], ids: set[str]) -> dict[str, str]:
    """When a worker's message speaks for functions it does not run: those entries are dropped and all of ITS
    functions are refused (the code that forged them is among them)."""
    foreign = False
    for key in ("results", "hits", "stdout"):
        part = message.get(key)
        if isinstance(part, dict):
            for fid in [f for f in part if f not in ids]:
                part.pop(fid)
                foreign = True
    return dict.fromkeys(ids, "results of code it does not run") if foreign else {}


def _refuse(message: dict[str, Any], problems: dict[str, str], what: str) -> None:
    """Drop the results of the functions with ``problems``, naming each reason in ``message["refused"]``."""
    refused: dict[str, str] = {}
    for fid, problem in problems.items():
        for key in ("results", "hits", "stdout"):
            part = message.get(key)
            if isinstance(part, dict):
                part.pop(fid, None)
        refused[fid] = f"{what}: the sandbox sent {problem}"
    message["refused"] = refused


def _span(ids: list[int]) -> str:
    return f"records {ids[0]}–{ids[-1]}" if ids else "records"


def _check_results(message: dict[str, Any], ids: set[int], what: str) -> None:
    """Refuse (SandboxError) results that are not ``[record id, value, error, stdout, token count]`` entries or
    ``{value: [record ids]}`` hits, one per record of this batch and function."""
    problems = result_problems(message, ids, what)
    if problems:
        raise SandboxError(f"{what}: the sandbox sent {next(iter(problems.values()))}")


def result_problems(message: dict[str, Any], ids: set[int], what: str) -> dict[str, str]:
    """What is wrong with each function's results in a batch's message (function id -> reason; {} when all are fine).

    A message whose shape is wrong as a whole (``results``, ``hits`` or ``stdout`` not a mapping of function ids) is
    not one function's fault: SandboxError.
    """
    results = message.get("results", {})
    hits = message.get("hits", {})
    printed = message.get("stdout", {})
    if not isinstance(results, dict) or not isinstance(hits, dict) or not isinstance(printed, dict):
        raise SandboxError(f"{what}: the sandbox sent something that is not a result")
    problems: dict[str, str] = {}
    for fid in dict.fromkeys([*results, *hits]):
        problem = _function_problem(results.get(fid, []), hits.get(fid, {}), ids)
        if problem is not None:
            problems[str(fid)] = problem
    for fid, output in printed.items():
        if not isinstance(output, str):
            problems.setdefault(str(fid), "printed output that is not text")
    return problems


def _function_problem(entries: Any, grouped: Any, ids: set[int]) -> str | None:
    if not isinstance(entries, list) or not isinstance(grouped, dict):
        return "something that is not a result"
    seen: set[int] = set()
    for entry in entries:
        if not (type(entry) is list and len(entry) == 5 and type(entry[0]) is int):
            return "something that is not a result"
        if entry[0] not in ids:
            return "a result for a record it was not given"
        if entry[0] in seen:
            return f"two results for record {entry[0]}"
        seen.add(entry[0])
        n_tokens = entry[4]
        if n_tokens is not None and not (type(n_tokens) is int and 0 <= n_tokens <= INT32_MAX):
            return f"a token count {str(n_tokens)[:40]} for record {entry[0]}; token counts are ints in [0, 2**31)"
        if entry[2] is not None and not isinstance(entry[2], str):
            return f"an error that is not text for record {entry[0]}"
    for record_ids in grouped.values():
        if not (type(record_ids) is list and set(map(type, record_ids)) <= {int}):
            return "something that is not a result"
        if not ids.issuperset(record_ids):
            return "a result for a record it was not given"
        before = len(seen)
        seen.update(record_ids)
        if len(seen) != before + len(record_ids):
            return "two results for one record"
    return None


@dataclass
class LabelChecker:
    """Turns a labeling function's raw results into (label id, span) rows, collecting the invalid ones."""

    labels: dict[str, uuid.UUID]
    extraction: bool
    invalid: list[str] = field(default_factory=list)
    invalid_count: int = 0

    def _reject(self, record_id: int, reason: str) -> None:
        self.invalid_count += 1
        if len(self.invalid) < MAX_INVALID_LISTED:
            self.invalid.append(f"record {record_id}: {reason}")

    def check(self, record_id: int, value: Any, n_tokens: int | None) -> list[tuple[uuid.UUID, int | None, int | None]]:
        """The rows for one record's result ([] = abstain); invalid results are recorded and give no rows."""
        if not self.extraction:
            if value is None:
                return []
            if not isinstance(value, str):
                self._reject(record_id, f"returned {describe(value)}; return a label name (str) or None")
                return []
            label_id = self.labels.get(value)
            if label_id is None:
                self._reject(record_id, f"unknown label {value!r} (labels: {', '.join(sorted(self.labels))})")
                return []
            return [(label_id, None, None)]
        if not isinstance(value, list):
            self._reject(record_id, f"returned {describe(value)}; yield (label, start, end) tuples")
            return []
        rows: list[tuple[uuid.UUID, int | None, int | None]] = []
        for item in value:
            problem = self._span_problem(item, n_tokens)
            if problem:
                self._reject(record_id, problem)
                return []
            rows.append((self.labels[item[0]], int(item[1]), int(item[2])))
        return rows

    def _span_problem(self, item: Any, n_tokens: int | None) -> str | None:
        if not (isinstance(item, list) and len(item) == 3):
            return f"yielded {describe(item)}; yield label, start_token, end_token"
        label, start, end = item
        if not isinstance(label, str):
            return f"yielded a label of type {describe(label)}; labels are str"
        if label not in self.labels:
            return f"unknown label {label!r} (labels: {', '.join(sorted(self.labels))})"
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (start, end)):
            return f"span ({describe(start)}, {describe(end)}) must be two int token indices"
        if start < 0 or end <= start or end > INT32_MAX or (n_tokens is not None and end > n_tokens):
            return f"span [{start}, {end}) is out of range (the text has {n_tokens} tokens; end is exclusive)"
        return None

    def summary(self) -> str:
        listed = "; ".join(self.invalid)
        more = f" (and {self.invalid_count - len(self.invalid)} more)" if self.invalid_count > len(self.invalid) else ""
        return f"{self.invalid_count} record(s) got invalid results: {listed}{more}"


def describe(value: Any) -> str:
    """A short description of a result value for error messages."""
    if isinstance(value, dict) and "__type__" in value:
        return f"a {value['__type__']} ({value.get('__repr__', '')})"
    if isinstance(value, list):
        return f"a list {str(value)[:80]}"
    return f"a {type(value).__name__} {value!r}"[:120]


ATTRIBUTE_TYPE_RULES: dict[DataType, tuple[str, Callable[[Any], bool]]] = {
    DataType.INTEGER: ("an int", lambda v: isinstance(v, int) and not isinstance(v, bool)),
    DataType.FLOAT: ("an int or float", lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)),
    DataType.BOOLEAN: ("a bool", lambda v: isinstance(v, bool)),
    DataType.CATEGORY: ("a non-empty str", lambda v: isinstance(v, str) and v != ""),
    DataType.TEXT: ("a str", lambda v: isinstance(v, str)),
    DataType.EMBEDDING_LIST: ("a list of str", lambda v: isinstance(v, list) and all(isinstance(i, str) for i in v)),
}


def attribute_value_problem(data_type: DataType, value: Any) -> str | None:
    """Why ``value`` does not fit an attribute of ``data_type`` (None: it fits; None values are missing values)."""
    if value is None:
        return None
    expected, rule = ATTRIBUTE_TYPE_RULES[data_type]
    if rule(value):
        return None
    return f"returned {describe(value)}; a {data_type} attribute needs {expected}"
