"""What every upload reader shares: the formats, errors that name file, row and column, the header check, and a cell's
text for COPY (with the column kinds learned so far)."""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import IO, Any

from shared_model.service.input_checks import text_problem
from shared_model.settings import get_settings

FORMATS = {".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".txt": "csv", ".xlsx": "xlsx"}
MAX_NAME_LENGTH = 200


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


def text_stream(handle: IO[bytes]) -> io.TextIOWrapper:
    return io.TextIOWrapper(handle, encoding="utf-8-sig", errors="strict", newline="")
