"""Readers of uploaded files: the first rows checked at once, and the COPY byte streams of the upload job.

Every reader yields rows as lists of Python values aligned with the header. CSV is parsed by Postgres itself
(``COPY … FORMAT csv``) in the upload job; Python reads its header and first rows only, to reject bad files early.
Rows are numbered from 1 (the first data row); errors name the file, the row and the column.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .cells import ColumnKinds, UploadError, cell_text
from .csv_reader import csv_head
from .object_readers import RowSource, open_rows


@dataclass
class Head:
    """What the synchronous check learned: the columns (and, for CSV, the delimiter)."""

    header: list[str]
    delimiter: str = ","


def read_head(path: Path, filename: str, fmt: str, max_columns: int, max_rows: int = 1000) -> Head:
    """Check the header and the first ``max_rows`` rows (cheap; the job checks the rest)."""
    if path.stat().st_size == 0:
        raise UploadError(f"{filename}: the file is empty")
    if fmt == "csv":
        header, delimiter, _ = csv_head(path, filename, max_columns, max_rows)
        return Head(header, delimiter)
    source = open_rows(path, filename, fmt, max_columns)
    try:
        kinds = ColumnKinds([False] * len(source.header))
        count = 0
        for row, cells in enumerate(source.rows, start=1):
            for index, value in enumerate(cells):
                cell_text(filename, row, source.header[index], value, kinds, index)
            count = row
            if row >= max_rows:
                break
        if count == 0:
            raise UploadError(f"{filename}: the file has a header but no rows")
    finally:
        source.close()
    return Head(source.header)


_ESCAPES = str.maketrans({"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"})


def copy_text_chunks(
    source: RowSource, filename: str, kinds: ColumnKinds, chunk_rows: int, on_rows: Callable[[int], None]
) -> Iterator[bytes]:
    """The rows as Postgres COPY text format, ``chunk_rows`` rows per chunk (no staged column ``_n``/``_rid``)."""
    header = source.header
    lines: list[str] = []
    row = 0
    for row, cells in enumerate(source.rows, start=1):
        out = []
        for index, value in enumerate(cells):
            text = cell_text(filename, row, header[index], value, kinds, index)
            out.append("\\N" if text is None else text.translate(_ESCAPES))
        lines.append("\t".join(out))
        if len(lines) >= chunk_rows:
            yield ("\n".join(lines) + "\n").encode("utf-8")
            lines.clear()
            on_rows(row)
    if lines:
        yield ("\n".join(lines) + "\n").encode("utf-8")
    on_rows(row)


class ChunkReader:
    """A file-like view of an iterator of byte chunks (what ``copy_expert`` reads from)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self.chunks = chunks
        self.current = b""
        self.offset = 0

    def read(self, size: int = -1) -> bytes:
        while self.offset >= len(self.current):
            chunk = next(self.chunks, None)
            if chunk is None:
                return b""
            self.current, self.offset = chunk, 0
        end = len(self.current) if size is None or size < 0 else self.offset + size
        data = self.current[self.offset : end]
        self.offset += len(data)
        return data

    def readline(self, size: int = -1) -> bytes:
        return self.read(size)
