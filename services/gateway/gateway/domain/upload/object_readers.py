"""JSON, JSONL and XLSX uploads: parsed in Python, streamed row by row (never the whole file in memory)."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared_model.service.input_checks import depth_problem, max_json_depth

from .cells import UploadError, check_header, text_stream, where

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
        reader = _JsonArrayReader(text_stream(raw), filename)
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
