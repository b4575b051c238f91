"""Reading a project's records for a pass, in batches whose size adapts to how long the code takes: rows through
SQLAlchemy (with their DocBins when the code needs tokens) or one ``COPY`` stream read in its own thread."""

from __future__ import annotations

import queue
import re
import threading
import uuid
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

import psycopg2
from sqlalchemy import text

from shared_model.db import dsn, session_scope

FIRST_BATCH = 100  # the first batches: progress and output come early, whatever the code costs
SMALLEST_BATCH = 20
BATCH_TARGET_S = 1.0  # batch sizes adapt so that the worker spends about this long on one

Batch = list[tuple[int, dict[str, Any], bytes | None, list[str]]]
IdRange = tuple[int, int | None]  # the first and last record id (None: no upper end) of a partition
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
    project_id: uuid.UUID,
    record_ids: list[int] | None,
    with_docs: bool,
    size: int | BatchSize,
    id_range: IdRange | None = None,
) -> Generator[Batch, None, None]:
    """The project's records (all, ``record_ids``, or those with ids in ``id_range``) in id order, with their DocBin
    when ``with_docs``; ``size`` records per batch (a :class:`BatchSize` is read anew for every batch)."""
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
    last = -1 if id_range is None else id_range[0] - 1
    upto = None if id_range is None else id_range[1]
    while True:
        size = sizer.value
        with session_scope() as session:
            rows = session.execute(
                text(
                    base + " AND r.id > :last AND (CAST(:upto AS bigint) IS NULL OR r.id <= CAST(:upto AS bigint))"
                    " ORDER BY r.id LIMIT :n"
                ),
                {"p": project_id, "last": last, "upto": upto, "n": size},
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
    project_id: uuid.UUID, size: int | BatchSize, poll: Callable[[], None] | None = None, id_range: IdRange | None = None
) -> Generator[RawBatch, None, None]:
    """All records of the project (or those with ids in ``id_range``) in id order, streamed by one ``COPY`` in a
    reader thread while the caller works.

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
                first, last = id_range if id_range is not None else (None, None)
                sql = cursor.mogrify(
                    "COPY (SELECT id, data::text FROM record WHERE project_id = %s"
                    " AND (%s::bigint IS NULL OR id >= %s::bigint) AND (%s::bigint IS NULL OR id <= %s::bigint)"
                    " ORDER BY id) TO STDOUT",
                    (str(project_id), first, first, last, last),
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
