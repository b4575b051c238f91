"""CSV uploads: Postgres parses them (``COPY … FORMAT csv``) in the upload job; Python sniffs the delimiter and reads the
header and first rows only, to reject bad files early, and streams the bytes within the size limit."""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from shared_model.service.input_checks import text_problem

from .cells import UploadError, check_header, max_field_length, text_stream, too_long, where

CSV_DELIMITERS = (",", ";", "\t", "|")
_QUOTED = re.compile(r'"(?:[^"]|"")*"')
MAX_HEADER_CHARS = 1 << 20  # the delimiter is sniffed from at most this much of the first line


def sniff_delimiter(header_line: str) -> str:
    """The most frequent of ``, ; TAB |`` in the header line outside quoted names (comma on a tie or none)."""
    unquoted = _QUOTED.sub("", header_line)
    counts = {d: unquoted.count(d) for d in CSV_DELIMITERS}
    best = max(CSV_DELIMITERS, key=lambda d: (counts[d], d == ","))
    return best if counts[best] else ","


def csv_head(path: Path, filename: str, max_columns: int, max_rows: int) -> tuple[list[str], str, int]:
    """Header, delimiter and number of checked rows of a CSV file; bad header, encoding or ragged rows raise."""
    with path.open("rb") as handle:
        text = text_stream(handle)
        row, line, header, delimiter, limit = 0, 0, list[str](), ",", max_field_length()
        try:
            first = text.readline(MAX_HEADER_CHARS)
            if not first.strip():
                raise UploadError(
                    f"{filename}: the file is empty" if not first else f"{filename}: the first line (header) is empty"
                )
            delimiter = sniff_delimiter(first)
            text.seek(0)
            # Python's csv stops at 128 KiB per field by default: here at the setting (+1, so that a field just over
            # it reaches check_csv_cells, which names its column), never holding a longer field in memory
            csv.field_size_limit(limit + 1)
            reader = csv.reader(text, delimiter=delimiter, strict=True)
            header = check_header(filename, next(reader), max_columns)
            line = reader.line_num
            for cells in reader:
                row += 1
                line = reader.line_num
                check_csv_cells(filename, row, header, cells, limit)
                if len(cells) != len(header):
                    if not cells and _only_blank_lines_left(reader):
                        break
                    raise UploadError(
                        f"{where(filename, row)}: expected {len(header)} columns as in the header, found {len(cells)}"
                        f" (line {reader.line_num})"
                    )
                if row >= max_rows:
                    break
        except UnicodeDecodeError as exc:
            raise UploadError(
                f"{where(filename, row + 1)}: the file is not UTF-8 text ({exc.reason} at byte {exc.start} of a chunk)"
            ) from None
        except csv.Error as exc:
            if "field larger than field limit" in str(exc):
                if not header:
                    raise too_long(filename, None, None) from None  # a column name
                index = _long_field_column(path, delimiter, line, limit)
                raise too_long(filename, row + 1, header[index] if index is not None and index < len(header) else None) from None
            raise UploadError(f"{where(filename, row + 1)}: malformed CSV: {exc}") from None
    if row == 0:
        raise UploadError(f"{filename}: the file has a header but no rows")
    return header, delimiter, row


def _long_field_column(path: Path, delimiter: str, skip_lines: int, limit: int) -> int | None:
    """The column index of the first field longer than ``limit`` in the CSV record after ``skip_lines`` physical lines,
    found by streaming (the field is never held in memory); None when that record has none."""
    with path.open("rb") as handle:
        text = text_stream(handle)
        for _ in range(skip_lines):
            text.readline(MAX_HEADER_CHARS)
        column, length, quoted, quote_seen, at_start = 0, 0, False, False, True
        while chunk := text.read(1 << 16):
            for char in chunk:
                if quote_seen:  # a quote inside a quoted field: doubled (a literal quote) or the field's end
                    quote_seen = False
                    if char == '"':
                        length += 1
                        continue
                    quoted = False
                if quoted:
                    if char == '"':
                        quote_seen = True
                    else:
                        length += 1
                elif char == '"' and at_start:
                    quoted = True
                elif char == delimiter:
                    column, length, at_start = column + 1, 0, True
                    continue
                elif char in "\r\n":
                    return None
                else:
                    length += 1
                at_start = False
                if length > limit:
                    return column
    return None


def check_csv_cells(filename: str, row: int, header: list[str], cells: list[str], limit: int) -> None:
    """A CSV row's cells: no NUL (PostgreSQL cannot store it), none longer than ``limit`` characters."""
    for index, cell in enumerate(cells):
        column = header[index] if index < len(header) else None
        if "\x00" in cell:
            raise UploadError(f"{where(filename, row, column)}: the text {text_problem(cell)}")
        if len(cell) > limit:
            raise too_long(filename, row, column, len(cell))


def csv_find_nul(path: Path, filename: str, delimiter: str) -> UploadError | None:
    """The first cell holding a NUL, as an error naming its row and column (COPY only says "line N")."""
    csv.field_size_limit(max_field_length() + 1)
    with path.open("rb") as handle:
        reader = csv.reader(text_stream(handle), delimiter=delimiter)
        try:
            header = next(reader)
            for row, cells in enumerate(reader, start=1):
                for index, cell in enumerate(cells):
                    if "\x00" in cell:
                        column = header[index] if index < len(header) else None
                        return UploadError(f"{where(filename, row, column)}: the text {text_problem(cell)}")
        except (csv.Error, UnicodeDecodeError, StopIteration):
            return None
    return None


def _only_blank_lines_left(reader: Any) -> bool:
    return all(not cells for cells in reader)


def csv_payload_size(path: Path) -> int:
    """Bytes of a CSV file without trailing blank lines (its last line break kept)."""
    size = path.stat().st_size
    with path.open("rb") as handle:
        end = size
        while end > 0:
            step = min(4096, end)
            handle.seek(end - step)
            stripped = handle.read(step).rstrip(b"\r\n")
            if stripped:
                end = end - step + len(stripped)
                break
            end -= step
        handle.seek(end)
        tail = handle.read(2)
    return end + (2 if tail == b"\r\n" else 1 if tail[:1] in (b"\r", b"\n") else 0)


class ByteLimitReader:
    """A file wrapper that reads at most ``limit`` bytes and reports how many it has read."""

    def __init__(self, handle: IO[bytes], limit: int, on_read: Callable[[int], None]) -> None:
        self.handle = handle
        self.left = limit
        self.done = 0
        self.on_read = on_read

    def read(self, size: int = -1) -> bytes:
        if self.left <= 0:
            return b""
        size = self.left if size is None or size < 0 else min(size, self.left)
        data = self.handle.read(size)
        self.left -= len(data)
        self.done += len(data)
        self.on_read(self.done)
        return data

    def readline(self, size: int = -1) -> bytes:  # psycopg2 only calls read(); present for completeness
        return self.read(size)
