"""Cells of spreadsheet exports (CSV, XLSX) made safe against formula injection (OWASP "CSV injection").

A text cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read as a formula by
spreadsheet programs; it is written with a leading apostrophe (``'=1+1``), which they show as text. Numbers and
booleans are never changed. The exports' ``raw=true`` query parameter writes every value as stored (for programs,
not people: then the file must not be opened in a spreadsheet program).
"""

from __future__ import annotations

import json
import re
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
RAW_DESCRIPTION = (
    "write text cells exactly as stored; by default a text cell beginning with =, +, -, @, a tab or a carriage return"
    " gets a leading apostrophe so that spreadsheet programs do not run it as a formula (OWASP CSV injection)"
)
# characters XML 1.0 (and so XLSX) cannot hold
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def escape_text(text: str) -> str:
    """``text`` with a leading apostrophe when a spreadsheet program would read it as a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_cell(value: Any, raw: bool = False) -> Any:
    """A value as a CSV cell: null empty, lists and objects as JSON, text escaped unless ``raw``."""
    if value is None:
        return ""
    if isinstance(value, list | dict):
        value = json.dumps(value, ensure_ascii=False)
    if isinstance(value, str) and not raw:
        return escape_text(value)
    return value


def xlsx_cell(value: Any, raw: bool = False) -> Any:
    """A value as an XLSX cell: as :func:`csv_cell`, characters XML cannot hold replaced by U+FFFD."""
    cell = csv_cell(value, raw)
    if value is None:
        return None
    if isinstance(cell, str):
        return _XML_ILLEGAL.sub("\ufffd", cell)
    return cell
