"""Readers of uploaded files: format by extension, header checks, row iteration and the COPY byte streams.

Every reader yields rows as lists of Python values aligned with the header. CSV is parsed by Postgres itself
(``COPY … FORMAT csv``) in the upload job; Python reads its header and first rows only, to reject bad files early.
Rows are numbered from 1 (the first data row); errors name the file, the row and the column.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import IO, Any

from shared_model.service.input_checks import depth_problem, max_json_depth, text_problem
from shared_model.settings import get_settings

FORMATS = {".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".txt": "csv", ".xlsx": "xlsx"}
MAX_NAME_LENGTH = 200
CSV_DELIMITERS = (",", ";", "\t", "|")
_QUOTED = re.compile(r'"(?:[^"]|"")*"')
MAX_HEADER_CHARS = 1 << 20  # the delimiter is sniffed from at most this much of the first line


def max_field_length() -> int:
    """The longest cell an upload may hold (setting ``upload_max_field_length``)."""
    return get_settings().upload_max_field_length


def too_long(filename: str, row: int | None, column: str | None, length: int | None = None) -> UploadError:
    limit = max_field_length()
    size = f" ({length} characters)" if length is not None else ""
    return UploadError(
        f"{where(filename, row, column)}: the value{size} is longer than the limit of {limit} characters"
        " (setting upload_max_field_length)"
    )


class UploadError(Exception):
    """Bad input: ``status`` is the HTTP status to answer with, the message names file, row and column."""

    def __init__(self, detail: str, status: int = 422) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status


def where(filename: str, row: int | None = None, column: str | None = None) -> str:
    """``"data.csv: row 3, column 'text'"`` — the location prefix of every upload error."""
    parts = [filename]
    if row is not None:
        parts.append(f"row {row}")
    if column is not None:
        parts.append(f"column {column!r}")
    return ": ".join(parts[:1]) + (": " + ", ".join(parts[1:]) if len(parts) > 1 else "")


def file_format(filename: str) -> str:
    """The format of a file by its extension; 415 for anything else."""
    suffix = Path(filename).suffix.lower()
    if suffix not in FORMATS:
        allowed = ", ".join(sorted(FORMATS))
        raise UploadError(f"{filename}: unsupported file type {suffix or '(no extension)'!r}; upload one of {allowed}", 415)
    return FORMATS[suffix]


def check_header(filename: str, names: list[Any], max_columns: int) -> list[str]:
    """Column names checked: present, text, non-empty, unique, not too long, not too many."""
    if not names:
        raise UploadError(f"{filename}: the file has no columns")
    if len(names) > max_columns:
        raise UploadError(f"{filename}: {len(names)} columns exceed the limit of {max_columns} columns", 422)
    seen: dict[str, int] = {}
    result: list[str] = []
    for index, raw in enumerate(names, start=1):
        name = "" if raw is None else str(raw)
        if not name.strip():
            raise UploadError(f"{filename}: column {index} has an empty name")
        if len(name) > MAX_NAME_LENGTH:
            raise UploadError(f"{filename}: column {index} name is longer than {MAX_NAME_LENGTH} characters")
        why = text_problem(name)
        if why:
            raise UploadError(f"{filename}: the name of column {index} {why}")
        if name in seen:
            raise UploadError(f"{filename}: duplicate column name {name!r} (columns {seen[name]} and {index})")
        seen[name] = index
        result.append(name)
    return result


@dataclass
class ColumnKinds:
    """What Python-side readers saw per column: JSON/XLSX strings make a column text whatever it looks like."""

    strings: list[bool] = field(default_factory=list)


def cell_text(filename: str, row: int, column: str, value: Any, kinds: ColumnKinds, index: int) -> str | None:
    """A typed cell as the text staged for Postgres (None = null); nested values are rejected."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise UploadError(f"{where(filename, row, column)}: {value} is not a finite number")
        return repr(value)
    if isinstance(value, str):
        kinds.strings[index] = True
        why = text_problem(value)
        if why:
            raise UploadError(f"{where(filename, row, column)}: the text {why}")
        if len(value) > max_field_length():
            raise too_long(filename, row, column, len(value))
        return value
    if isinstance(value, datetime | date | time):
        kinds.strings[index] = True
        return value.isoformat()
    if isinstance(value, dict | list):
        raise UploadError(
            f"{where(filename, row, column)}: nested value ({'object' if isinstance(value, dict) else 'array'}); "
            "cells must be text, numbers, booleans or null"
        )
    raise UploadError(f"{where(filename, row, column)}: unsupported value of type {type(value).__name__}")


# --- CSV -----------------------------------------------------------------------------------------------------------


def sniff_delimiter(header_line: str) -> str:
    """The most frequent of ``, ; TAB |`` in the header line outside quoted names (comma on a tie or none)."""
    unquoted = _QUOTED.sub("", header_line)
    counts = {d: unquoted.count(d) for d in CSV_DELIMITERS}
    best = max(CSV_DELIMITERS, key=lambda d: (counts[d], d == ","))
    return best if counts[best] else ","


def _text(handle: IO[bytes]) -> io.TextIOWrapper:
    return io.TextIOWrapper(handle, encoding="utf-8-sig", errors="strict", newline="")


def csv_head(path: Path, filename: str, max_columns: int, max_rows: int) -> tuple[list[str], str, int]:
    """Header, delimiter and number of checked rows of a CSV file; bad header, encoding or ragged rows raise."""
    with path.open("rb") as handle:
        text = _text(handle)
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
        text = _text(handle)
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
        reader = csv.reader(_text(handle), delimiter=delimiter)
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


# --- JSON, JSONL, XLSX ----------------------------------------------------------------------------------------------

_WS = re.compile(r"\s*")


class _JsonArrayReader:
    """Decodes the objects of a JSON array from a text stream, a growing window at a time (never the whole file)."""

    def __init__(self, text: io.TextIOWrapper, filename: str) -> None:
        self.text, self.filename = text, filename
        self.decoder = json.JSONDecoder()
        self.buffer, self.pos, self.eof, self.size, self.row = "", 0, False, 1 << 20, 0

    def fill(self) -> None:
        try:
            chunk = self.text.read(self.size)
        except UnicodeDecodeError as exc:
            raise UploadError(f"{where(self.filename, self.row + 1)}: the file is not UTF-8 text ({exc.reason})") from None
        self.eof = not chunk
        self.buffer, self.pos = self.buffer[self.pos :] + chunk, 0

    def skip_ws(self) -> str:
        """Skip white space; the next character, or "" at the end of the file."""
        while True:
            self.pos = _WS.match(self.buffer, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.buffer) or self.eof:
                return self.buffer[self.pos] if self.pos < len(self.buffer) else ""
            self.fill()

    def start(self) -> bool:
        """Read up to the first object; False for an empty array."""
        self.fill()
        if not self.buffer.strip() and self.eof:
            raise UploadError(f"{self.filename}: the file is empty")
        if self.skip_ws() != "[":
            raise UploadError(f"{self.filename}: expected a JSON array of objects (the file must start with '[')")
        self.pos += 1
        return self.skip_ws() != "]"

    def value(self) -> dict[str, Any]:
        """The next object (the window grows until it holds the whole value)."""
        where_now = where(self.filename, self.row + 1)
        while True:
            try:
                value, end = self.decoder.raw_decode(self.buffer, self.pos)
                if end < len(self.buffer) or self.eof:
                    break
            except json.JSONDecodeError as exc:
                if self.eof:
                    raise UploadError(f"{where_now}: malformed JSON: {exc.msg}") from None
            except RecursionError:
                raise UploadError(f"{where_now}: the JSON {depth_problem(max_json_depth())}") from None
            self.size = min(self.size * 2, 1 << 26)
            self.fill()
        self.pos = end
        self.row += 1
        if not isinstance(value, dict):
            raise UploadError(f"{where(self.filename, self.row)}: expected a JSON object, found {type(value).__name__}")
        return value

    def more(self) -> bool:
        """After an object: True when another follows, False at the array's end (nothing may follow it)."""
        sep = self.skip_ws()
        if sep == "]":
            self.pos += 1
            if self.skip_ws():
                raise UploadError(f"{self.filename}: unexpected data after the JSON array")
            return False
        if sep != ",":
            raise UploadError(f"{where(self.filename, self.row)}: malformed JSON: expected ',' or ']' after the object")
        self.pos += 1
        self.skip_ws()
        return True


def iter_json_array(path: Path, filename: str) -> Iterator[dict[str, Any]]:
    """The objects of a JSON array, decoded incrementally (the file is never read whole)."""
    with path.open("rb") as raw:
        reader = _JsonArrayReader(_text(raw), filename)
        if not reader.start():
            return
        while True:
            yield reader.value()
            if not reader.more():
                return


def iter_jsonl(path: Path, filename: str) -> Iterator[dict[str, Any]]:
    """The objects of a JSON-lines file (blank lines skipped)."""
    with path.open("rb") as raw:
        row = 0
        for line_no, line in enumerate(raw, start=1):
            if not line.strip():
                continue
            row += 1
            try:
                value = json.loads(line.decode("utf-8-sig" if line_no == 1 else "utf-8"))
            except UnicodeDecodeError as exc:
                raise UploadError(f"{where(filename, row)}: the file is not UTF-8 text ({exc.reason}, line {line_no})") from None
            except json.JSONDecodeError as exc:
                raise UploadError(f"{where(filename, row)}: malformed JSON on line {line_no}: {exc.msg}") from None
            except RecursionError:
                too_deep = depth_problem(max_json_depth())
                raise UploadError(f"{where(filename, row)}: the JSON on line {line_no} {too_deep}") from None
            if not isinstance(value, dict):
                raise UploadError(
                    f"{where(filename, row)}: expected a JSON object on line {line_no}, found {type(value).__name__}"
                )
            yield value
        if row == 0:
            raise UploadError(f"{filename}: the file is empty")


def _object_rows(objects: Iterator[dict[str, Any]], filename: str, max_columns: int) -> tuple[list[str], Iterator[list[Any]]]:
    """Columns from the first object's keys; later objects may omit keys (null) but not add any."""
    first = next(objects, None)
    if first is None:
        raise UploadError(f"{filename}: the JSON array is empty")
    header = check_header(filename, list(first.keys()), max_columns)
    positions = {name: i for i, name in enumerate(header)}

    def rows() -> Iterator[list[Any]]:
        yield list(first.values())
        for row, obj in enumerate(objects, start=2):
            if obj.keys() == positions.keys():
                yield [obj[name] for name in header]
                continue
            cells: list[Any] = [None] * len(header)
            for key, value in obj.items():
                index = positions.get(key)
                if index is None:
                    raise UploadError(
                        f"{where(filename, row, key)}: column not in the first record's columns ({', '.join(header)})"
                    )
                cells[index] = value
            yield cells

    return header, rows()


def iter_xlsx(path: Path, filename: str, max_columns: int) -> tuple[list[str], Iterator[list[Any]], Callable[[], None]]:
    """Header and rows of the first worksheet (read-only, streamed); fully empty rows are skipped."""
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - any failure to open means the file is no workbook
        raise UploadError(f"{filename}: not a readable XLSX workbook ({type(exc).__name__}: {exc})") from None
    sheet = workbook.worksheets[0]
    rows_iter = sheet.iter_rows(values_only=True)
    try:
        first = next(rows_iter, None)
    except Exception as exc:  # noqa: BLE001 - as in _readable
        workbook.close()
        raise UploadError(f"{filename}: the worksheet's header cannot be read ({type(exc).__name__}: {exc})") from None
    if first is None or all(cell is None for cell in first):
        workbook.close()
        raise UploadError(f"{filename}: the first worksheet is empty")
    cells = list(first)
    while cells and cells[-1] is None:
        cells.pop()
    header = check_header(filename, cells, max_columns)
    width = len(header)

    def rows() -> Iterator[list[Any]]:
        row = 0
        for values in _readable(rows_iter, filename, lambda: row + 1):  # noqa: B023 - the row being read, on purpose
            if all(cell is None for cell in values):
                continue
            row += 1
            extra = [i for i in range(width, len(values)) if values[i] is not None]
            if extra:
                raise UploadError(
                    f"{where(filename, row)}: a value in column {extra[0] + 1} has no header (the header has {width} columns)"
                )
            out = list(values[:width])
            if len(out) < width:
                out.extend([None] * (width - len(out)))
            yield out

    return header, rows(), workbook.close


def _readable(rows: Iterator[Any], filename: str, next_row: Callable[[], int]) -> Iterator[Any]:
    """The worksheet's rows; a broken sheet (bad XML, an illegal character reference) is an upload error."""
    while True:
        try:
            values = next(rows)
        except StopIteration:
            return
        except Exception as exc:  # noqa: BLE001 - whatever the XML parser or openpyxl raise means a broken workbook
            reason = f"{type(exc).__name__}: {exc}"
            raise UploadError(f"{where(filename, next_row())}: the worksheet cannot be read ({reason})") from None
        yield values


@dataclass
class RowSource:
    """Header and rows of a JSON, JSONL or XLSX file; ``close`` releases it."""

    header: list[str]
    rows: Iterator[list[Any]]
    close: Callable[[], None]


def open_rows(path: Path, filename: str, fmt: str, max_columns: int) -> RowSource:
    """The typed rows of a non-CSV upload."""
    if fmt == "xlsx":
        header, rows, close = iter_xlsx(path, filename, max_columns)
        return RowSource(header, rows, close)
    objects = iter_json_array(path, filename) if fmt == "json" else iter_jsonl(path, filename)
    header, rows = _object_rows(objects, filename, max_columns)
    return RowSource(header, rows, lambda: None)


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
