"""Tokenizing records: the streaming project job and the single-record priority path.

Every TEXT attribute of a record becomes one Doc; a record's Docs are stored as one DocBin in ``record_tokenized``
with ``columns`` = the text attributes in attribute order and ``tokenizer`` = the project's setting. A stored row
whose tokenizer or columns differ from the project's current ones is stale and tokenized again, so the job is
incremental (new records, new text attributes) and a changed tokenizer re-tokenizes everything.

Why one module of ~440 lines: the streaming job and the priority path share the stale-row rules, the pipeline cache
and the worker dispatch; split, the two paths would drift apart.
"""

from __future__ import annotations

import io
import json
import logging
import os
import queue
import threading
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import psycopg2
from spacy.language import Language
from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

from shared_model.db import dsn
from shared_model.models import AttributeState, DataType, Project, Record, RecordTokenized
from shared_model.settings import get_settings

from .chunks import encode_chunk
from .docbin import DocBinEncoder, decode, token_rows
from .pipelines import get_nlp
from .ray_pool import RayTokenizerPool
from .warm_workers import warm_workers
from .workers import Pending, WorkerPool

log = logging.getLogger("tokenizer")

CHUNK_RECORDS = 2500

_nlp_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def nlp_lock(name: str) -> threading.Lock:
    """One lock per pipeline: spaCy's tokenizer caches are not meant for concurrent callers."""
    with _locks_guard:
        return _nlp_locks.setdefault(name, threading.Lock())


class NotFound(LookupError):
    """A project, record or attribute that does not exist (reported as 404)."""


@dataclass(frozen=True)
class Target:
    """What a project's records are tokenized with."""

    project_id: uuid.UUID
    tokenizer: str
    columns: list[str]


def project_target(session: Session, project_id: uuid.UUID) -> Target:
    """The project's tokenizer and text attributes in attribute order: uploaded ones and calculated ones whose values
    are there (a calculated attribute that has not run successfully — INITIAL, RUNNING, FAILED — is left out)."""
    project = session.get(Project, project_id)
    if project is None:
        raise NotFound(f"project {project_id} does not exist")
    sql = (
        "SELECT name FROM attribute WHERE project_id = :p AND data_type = :t AND state NOT IN :unfinished"
        " ORDER BY relative_position, name"
    )
    unfinished = tuple(s.value for s in (AttributeState.INITIAL, AttributeState.RUNNING, AttributeState.FAILED))
    query = text(sql).bindparams(bindparam("unfinished", expanding=True))
    columns = list(session.scalars(query, {"p": project_id, "t": DataType.TEXT.value, "unfinished": unfinished}))
    return Target(project_id=project_id, tokenizer=project.tokenizer, columns=columns)


def _stale_filter() -> str:
    return "r.project_id = %(p)s AND (t.id IS NULL OR t.tokenizer <> %(tok)s OR t.columns <> %(cols)s::jsonb)"


def count_stale(cursor: Any, target: Target) -> int:
    """How many of the project's records have no up-to-date DocBin."""
    cursor.execute(
        f"SELECT count(*) FROM record r LEFT JOIN record_tokenized t ON t.record_id = r.id WHERE {_stale_filter()}",
        {"p": str(target.project_id), "tok": target.tokenizer, "cols": json.dumps(target.columns)},
    )
    return int(cursor.fetchone()[0])


# The next window of the project's records by id (an index-only scan), then its stale records in that id range: a
# single "stale AND id > after ORDER BY id LIMIT n" lets Postgres scan, join and extract the text of every remaining
# record per chunk whenever it misjudges the row counts (as right after an upload, before any ANALYZE).
_WINDOW_SQL = "SELECT max(id) FROM (SELECT id FROM record WHERE project_id = %(p)s AND id > %(after)s ORDER BY id LIMIT %(n)s) w"


def _select_sql(target: Target) -> str:
    values = ", ".join(f"r.data ->> %(c{i})s" for i in range(len(target.columns)))
    return (
        f"SELECT r.id{', ' + values if values else ''} FROM record r LEFT JOIN record_tokenized t ON t.record_id = r.id"
        " AND t.record_id > %(after)s AND t.record_id <= %(hi)s"  # the same window on that side too
        f" WHERE {_stale_filter()} AND r.id > %(after)s AND r.id <= %(hi)s ORDER BY r.id"
    )


def _params(target: Target) -> dict[str, Any]:
    params: dict[str, Any] = {"p": str(target.project_id), "tok": target.tokenizer, "cols": json.dumps(target.columns)}
    params.update({f"c{i}": name for i, name in enumerate(target.columns)})
    return params


def _upsert_sql() -> str:
    return (
        "INSERT INTO record_tokenized (id, project_id, record_id, columns, bytes, tokenizer, created_at)"
        " SELECT gen_random_uuid(), %(p)s, s.record_id, %(cols)s::jsonb, s.bytes, %(tok)s, now()"
        # the chunk's id range keeps Postgres from hashing every record of the project for each chunk
        " FROM tokenize_stage s JOIN record r ON r.id = s.record_id AND r.project_id = %(p)s"
        " AND r.id BETWEEN %(lo)s AND %(hi)s"
        " ON CONFLICT (record_id) DO UPDATE SET columns = EXCLUDED.columns, bytes = EXCLUDED.bytes,"
        " tokenizer = EXCLUDED.tokenizer, created_at = EXCLUDED.created_at"
    )


class _Pipeline:
    """Reader thread → encoding (here or in worker processes) → writer thread; reader and writer each on their own
    connection, so reading and writing overlap tokenizing."""

    def __init__(self, target: Target, chunk_records: int) -> None:
        self.target = target
        self.chunk_records = chunk_records
        self.params = _params(target)
        self.failure: list[BaseException] = []
        self.stop = threading.Event()
        self.chunks: queue.Queue[list[tuple[Any, ...]] | None] = queue.Queue(maxsize=2)
        self.encoded: queue.Queue[tuple[bytes, list[tuple[Any, ...]]] | None] = queue.Queue(maxsize=2)
        self.written = 0
        self.written_lock = threading.Lock()

    def _put(self, q: queue.Queue[Any], item: Any) -> bool:
        while not self.stop.is_set():
            try:
                q.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def next_chunk(self) -> list[tuple[Any, ...]] | None:
        """The next chunk read, or None at the end (or when a reader or writer failure stopped the pipeline)."""
        while True:
            try:
                return self.chunks.get(timeout=0.2)
            except queue.Empty:
                if self.stop.is_set():
                    return None

    def read(self) -> None:
        try:
            conn = psycopg2.connect(dsn())
            try:
                conn.set_session(readonly=True, autocommit=True)
                sql = _select_sql(self.target)
                after = 0
                with conn.cursor() as cursor:
                    while not self.stop.is_set():
                        cursor.execute(_WINDOW_SQL, {"p": self.params["p"], "after": after, "n": self.chunk_records})
                        hi = cursor.fetchone()[0]
                        if hi is None:
                            break
                        cursor.execute(sql, {**self.params, "after": after, "hi": hi})
                        rows = cursor.fetchall()
                        after = hi
                        if rows and not self._put(self.chunks, rows):
                            return
            finally:
                conn.close()
        except BaseException as exc:  # noqa: BLE001 - re-raised by the job
            self.failure.append(exc)
            self.stop.set()
        finally:
            self._put(self.chunks, None)

    def write(self) -> None:
        try:
            conn = psycopg2.connect(dsn())
            try:
                with conn.cursor() as cursor:
                    cursor.execute("CREATE TEMP TABLE tokenize_stage (record_id bigint, bytes bytea) ON COMMIT DELETE ROWS")
                    conn.commit()
                    upsert = _upsert_sql()
                    while True:
                        try:
                            item = self.encoded.get(timeout=0.2)
                        except queue.Empty:
                            if self.stop.is_set():
                                return
                            continue
                        if item is None:
                            return
                        payload, rows = item
                        # one read of the whole payload: 8 KiB pieces would each wait for the GIL
                        copy_sql = "COPY tokenize_stage (record_id, bytes) FROM STDIN (FORMAT binary)"
                        cursor.copy_expert(copy_sql, io.BytesIO(payload), size=max(len(payload), 8192))
                        cursor.execute(upsert, {**self.params, "lo": rows[0][0], "hi": rows[-1][0]})
                        conn.commit()
                        with self.written_lock:
                            self.written += len(rows)
            finally:
                conn.close()
        except BaseException as exc:  # noqa: BLE001 - re-raised by the job
            self.failure.append(exc)
            self.stop.set()


def configured_processes() -> int:
    """How many processes tokenize a big job, this one included (``REFINERY_TOKENIZER_PROCESSES``; 0 = up to 2)."""
    return max(1, get_settings().tokenizer_processes or min(2, os.cpu_count() or 1))


def worker_processes(total: int) -> int:
    """How many processes tokenize a job of ``total`` records, this one included; 1 = this one alone."""
    return 1 if total < get_settings().tokenizer_process_min_records else configured_processes()


def prestart_workers() -> int:
    """Start the worker processes of ``REFINERY_TOKENIZER_PRESTART``'s pipeline (when jobs use workers at all), so
    the first big job finds them warm; how many were started."""
    settings = get_settings()
    count = configured_processes() - 1
    if not settings.tokenizer_prestart or count < 1:
        return 0
    warm_workers.idle_s = settings.tokenizer_worker_idle_s
    warm_workers.answer_s = settings.tokenizer_worker_answer_s
    try:
        warm_workers.prestart(settings.tokenizer_prestart, count)
    except Exception:  # noqa: BLE001 - only a head start: the first job starts its workers itself
        log.exception("starting warm tokenizer workers failed")
    return len(warm_workers.idle())


@dataclass
class TokenizeRun:
    """What a tokenize run did: records stored, processes that tokenized (this one included) and chunks that worker
    processes encoded; ``runner``: ``"ray"`` when actors on the Ray cluster held the pipeline (``processes`` then
    counts them, ``worker_chunks`` the chunks they encoded), else ``"local"``."""

    stored: int = 0
    processes: int = 1
    worker_chunks: int = 0
    runner: Literal["local", "ray"] = "local"


def tokenize_stale_records(
    target: Target,
    progress: Callable[[int, int], None],
    *,
    chunk_records: int = CHUNK_RECORDS,
    wait_for_workers: bool = False,
) -> TokenizeRun:
    """Tokenize every record of ``target`` lacking an up-to-date DocBin.

    Each chunk of records is one transaction. ``progress(done, total)`` is called after each chunk (it may raise to
    cancel). A big job also uses ``processes - 1`` worker processes (see :mod:`tokenizer.workers`), warm ones kept
    from earlier jobs of the same pipeline when there are, and keeps them warm after a clean run (any failure or
    cancel ends them): each chunk goes to a worker with room in its queue, else this process encodes it, so this
    process tokenizes while new workers start and whenever they are busy; reading and writing run in their own
    threads throughout. ``wait_for_workers``
    (for tests) holds the first chunk until a worker is ready.
    """
    nlp = get_nlp(target.tokenizer)
    conn = psycopg2.connect(dsn())
    try:
        with conn.cursor() as cursor:
            total = count_stale(cursor, target)
    finally:
        conn.close()
    if total == 0:
        return TokenizeRun()
    processes = worker_processes(total)
    run = TokenizeRun(processes=processes)
    pipeline = _Pipeline(target, chunk_records)
    reader = threading.Thread(target=pipeline.read, name="tokenize-read", daemon=True)
    writer = threading.Thread(target=pipeline.write, name="tokenize-write", daemon=True)
    reader.start()
    writer.start()
    dispatch = _Dispatch(nlp, target, pipeline, run, lambda: progress(pipeline.written, total), wait_for_workers)
    settings = get_settings()
    on_ray = bool(settings.ray_address) and total >= settings.ray_min_records
    try:
        if on_ray:  # actors on the cluster hold the pipeline (tokenizer.ray_pool); this process reads and writes
            ray_pool = RayTokenizerPool(settings.ray_address, target.tokenizer, -(-total // chunk_records))
            dispatch.pool = ray_pool  # type: ignore[assignment]  # the worker pool's interface
            run.processes = len(ray_pool.actors)
            run.runner = "ray"
        elif processes > 1:
            warm_workers.idle_s = settings.tokenizer_worker_idle_s
            warm_workers.answer_s = dispatch.answer_s
            dispatch.pool = warm_workers.acquire(target.tokenizer, processes - 1)
        while (rows := pipeline.next_chunk()) is not None:
            if not dispatch.place(rows) or pipeline.stop.is_set():
                break
            progress(pipeline.written, total)
        dispatch.drain()
        pipeline._put(pipeline.encoded, None)
        writer.join()
        if dispatch.pool is not None:  # after a failure of the writer or reader the workers may still hold chunks
            _release(dispatch.pool, clean=not pipeline.failure)  # clean: kept warm for the next job
    except BaseException:
        if dispatch.pool is not None:
            _release(dispatch.pool, clean=False)  # cancelled or failed: never reuse a worker that may hold a chunk
        raise
    finally:
        pipeline.stop.set()
        reader.join(5)
        writer.join(30)
    if pipeline.failure:
        raise pipeline.failure[0]
    run.stored = pipeline.written
    return run


def _release(pool: Any, clean: bool) -> None:
    """End a job's pool: Ray actors always; local workers kept warm after a clean run."""
    if isinstance(pool, RayTokenizerPool):
        pool.close()
    else:
        warm_workers.release(pool, clean=clean)


class _Dispatch:
    """Where each chunk is encoded: a worker with room in its queue, else this process (while fewer than
    ``max_pending`` chunks are in flight, else the oldest is handed to the writer first); encoded chunks go to the
    writer in their order."""

    def __init__(
        self,
        nlp: Language,
        target: Target,
        pipeline: _Pipeline,
        run: TokenizeRun,
        progress: Callable[[], None],
        wait_for_workers: bool,
    ) -> None:
        self.nlp = nlp
        self.encoder = DocBinEncoder(self.nlp)
        self.lock = nlp_lock(target.tokenizer)
        self.n_columns = len(target.columns)
        self.pipeline = pipeline
        self.run = run
        self.progress = progress
        self.wait_for_workers = wait_for_workers
        self.pool: WorkerPool | None = None
        self.pending: deque[tuple[Pending, list[tuple[Any, ...]]]] = deque()
        self.max_pending = 2 * run.processes + 2  # chunks encoded or encoding but not yet handed to the writer
        self.answer_s = get_settings().tokenizer_worker_answer_s

    def still_wanted(self) -> None:
        """While waiting for a worker: a cancel (raised by ``progress``) or a reader or writer failure ends the wait."""
        if self.pipeline.failure:
            raise self.pipeline.failure[0]
        self.progress()

    def hand_over_oldest(self) -> bool:
        done, rows = self.pending.popleft()
        return self.pipeline._put(self.pipeline.encoded, (done.result(self.answer_s, self.still_wanted), rows))

    def place(self, rows: list[tuple[Any, ...]]) -> bool:
        """Start encoding ``rows`` and hand the chunks that are done to the writer; False when the pipeline stopped."""
        pool = self.pool
        if pool is not None:
            pool.check()
        item: Pending | None = None
        while item is None:
            item = pool.submit(rows, self.n_columns) if pool is not None else None
            if item is not None:
                self.run.worker_chunks += 1
            elif pool is not None and self.wait_for_workers and not self.run.worker_chunks:
                pool.wait_ready()
            elif len(self.pending) < self.max_pending:
                with self.lock:
                    item = Pending(len(rows), encode_chunk(self.nlp, self.encoder, rows, self.n_columns))
            elif not self.hand_over_oldest():  # enough in flight: the oldest chunk goes to the writer first
                return False
        self.pending.append((item, rows))
        while self.pending and self.pending[0][0].done():
            if not self.hand_over_oldest():
                break
        return True

    def drain(self) -> None:
        """The chunks still in flight to the writer, in order."""
        while self.pending and not self.pipeline.stop.is_set():
            self.hand_over_oldest()


def tokenize_record(session: Session, record_id: int) -> RecordTokenized:
    """Tokenize one record now (the priority path) and store its DocBin in the caller's transaction."""
    record = session.get(Record, record_id)
    if record is None:
        raise NotFound(f"record {record_id} does not exist")
    target = project_target(session, record.project_id)
    nlp = get_nlp(target.tokenizer)
    texts = [_as_text(record.data.get(name)) for name in target.columns]
    with nlp_lock(target.tokenizer):
        data = DocBinEncoder(nlp).encode(list(nlp.pipe(texts)))
    session.execute(
        text(
            "INSERT INTO record_tokenized (id, project_id, record_id, columns, bytes, tokenizer, created_at)"
            " VALUES (gen_random_uuid(), :p, :r, CAST(:cols AS jsonb), :b, :tok, now())"
            " ON CONFLICT (record_id) DO UPDATE SET columns = EXCLUDED.columns, bytes = EXCLUDED.bytes,"
            " tokenizer = EXCLUDED.tokenizer, created_at = EXCLUDED.created_at"
        ),
        {"p": record.project_id, "r": record_id, "cols": json.dumps(target.columns), "b": data, "tok": target.tokenizer},
    )
    session.expire_all()
    row = session.query(RecordTokenized).filter(RecordTokenized.record_id == record_id).one()
    return row


def text_tokens(tokenizer: str, texts: list[str]) -> list[list[dict[str, Any]]]:
    """The token rows of each text with the ``tokenizer`` pipeline (nothing is stored)."""
    nlp = get_nlp(tokenizer)
    with nlp_lock(tokenizer):
        docs = list(nlp.pipe(texts))
    return [token_rows(doc) for doc in docs]


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def record_docs(session: Session, record_id: int) -> tuple[list[str], list[Any]]:
    """The record's text attribute names and Docs, tokenizing it now when its DocBin is missing or stale."""
    record = session.get(Record, record_id)
    if record is None:
        raise NotFound(f"record {record_id} does not exist")
    target = project_target(session, record.project_id)
    row = session.query(RecordTokenized).filter(RecordTokenized.record_id == record_id).one_or_none()
    if row is None or row.tokenizer != target.tokenizer or list(row.columns) != target.columns:
        row = tokenize_record(session, record_id)
    nlp = get_nlp(row.tokenizer)
    return list(row.columns), decode(row.bytes, nlp)


def record_tokens(session: Session, record_id: int, attribute: str | None) -> dict[str, Any]:
    """Tokens of one text attribute of a record (or of all its text attributes when ``attribute`` is None)."""
    columns, docs = record_docs(session, record_id)
    if attribute is not None and attribute not in columns:
        sql = "SELECT a.data_type FROM attribute a JOIN record r ON r.project_id = a.project_id WHERE r.id = :r AND a.name = :n"
        exists = session.scalar(text(sql), {"r": record_id, "n": attribute})
        if exists is None:
            raise NotFound(f"attribute {attribute!r} does not exist in the record's project")
        raise ValueError(f"attribute {attribute!r} is {exists}, not TEXT; only text attributes are tokenized")
    attributes = {
        name: {"text": doc.text, "tokens": token_rows(doc)}
        for name, doc in zip(columns, docs, strict=True)
        if attribute is None or name == attribute
    }
    return {"record_id": record_id, "attributes": attributes}
