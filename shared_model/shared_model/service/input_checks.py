"""Input every service refuses, in one place: text PostgreSQL cannot store and JSON nested too deeply.

PostgreSQL stores no U+0000 (NUL) in ``text`` or ``jsonb`` and no lone UTF-16 surrogate (it has no UTF-8 form); a
value holding one used to reach the database and come back as a plain 500. JSON nested deeper than Python's
recursion limit made the parser raise ``RecursionError`` (another 500). Here:

* :func:`text_problem` / :func:`find_problem` say what is wrong with a string, or where in a parsed JSON value
  (``labels[2].name``) — used by every public request schema (``gateway.schemas.RequestModel``), by the upload
  readers and by the snapshot import;
* :func:`install_input_checks` makes every service answer 422 for a NUL in the URL's path or query string and for a
  request body nested past the JSON parser's recursion limit, naming the parameter or the limit (setting
  ``json_max_depth``; a body nested less deeply but past the setting is refused by the request schema).
"""

from __future__ import annotations

import inspect
import re
from typing import Any, cast
from urllib.parse import unquote_to_bytes

from fastapi import FastAPI, Request
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from ..settings import get_settings
from .errors import problem_response

NUL_PROBLEM = "contains a NUL character (U+0000), which cannot be stored"
SURROGATE_PROBLEM = "contains a lone UTF-16 surrogate (not valid Unicode text)"
_SURROGATE = re.compile("[\ud800-\udfff]")


def text_problem(text: str) -> str | None:
    """Why ``text`` cannot be stored (None when it can)."""
    if "\x00" in text:
        return NUL_PROBLEM
    if _SURROGATE.search(text):
        return SURROGATE_PROBLEM
    return None


def depth_problem(max_depth: int) -> str:
    return f"is nested deeper than the limit of {max_depth} levels (setting json_max_depth)"


def max_json_depth() -> int:
    return get_settings().json_max_depth


def _label(value: Any) -> str:
    """`` (id 'x')`` for an object with an id, to name a row of a list better than by position."""
    ident = value.get("id") if isinstance(value, dict) else None
    if isinstance(ident, str | int) and not isinstance(ident, bool):
        return f" (id {str(ident)[:60]!r})"
    return ""


def find_problem(value: Any, max_depth: int | None = None, path: str = "", *, row_ids: bool = False) -> tuple[str, str] | None:
    """``(where, why)`` for the first string (key or value) of a parsed JSON value that cannot be stored, or the
    first place nested deeper than ``max_depth`` containers (default: the setting); None when all is well.

    ``where`` is a path such as ``labels[1].name`` (with ``row_ids``, list items that are objects with an ``id`` are
    named by it too: ``records_data[3] (id 'r3').data.text``); iterative, so any depth is safe."""
    limit = max_json_depth() if max_depth is None else max_depth
    stack: list[tuple[Any, str, int]] = [(value, path, 0)]
    while stack:
        item, where, depth = stack.pop()
        if isinstance(item, str):
            why = text_problem(item)
            if why:
                return where or "the value", why
        elif isinstance(item, dict | list):
            if depth >= limit:
                return where or "the value", depth_problem(limit)
            children: list[tuple[Any, str, int]] = []
            if isinstance(item, dict):
                for key, child in item.items():
                    name = f"{where}.{key}" if where else str(key)
                    if isinstance(key, str):
                        why = text_problem(key)
                        if why:
                            return f"{where + '.' if where else ''}{key!r} (a key)", why
                    children.append((child, name, depth + 1))
            else:
                for index, child in enumerate(item):
                    children.append((child, f"{where}[{index}]{_label(child) if row_ids else ''}", depth + 1))
            stack.extend(reversed(children))
    return None


def _query_problem(scope: Scope) -> str | None:
    """Which URL parameter holds a NUL (or text that is not UTF-8), if any."""
    raw_path: bytes = scope.get("raw_path") or scope.get("path", "").encode("utf-8", "surrogateescape")
    if b"%00" in raw_path or b"\x00" in raw_path:
        return f"the path {scope.get('path', '')!r} {NUL_PROBLEM}"
    query: bytes = scope.get("query_string", b"")
    if b"%00" not in query and b"\x00" not in query:
        return None
    for pair in query.split(b"&"):
        name, _, value = pair.partition(b"=")
        decoded_name = unquote_to_bytes(name.replace(b"+", b" "))
        if b"\x00" in decoded_name or b"\x00" in unquote_to_bytes(value.replace(b"+", b" ")):
            shown = decoded_name.replace(b"\x00", b"\\0").decode("utf-8", "replace")
            return f"query parameter {shown!r} {NUL_PROBLEM}"
    return None


class _UrlCheck:
    """ASGI middleware: 422 for a NUL in the path or the query string, before any route sees it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            why = _query_problem(scope)
            if why is not None:
                if scope["type"] == "websocket":
                    await send({"type": "websocket.close", "code": 1008, "reason": why[:120]})
                    return
                response = problem_response(422, "Invalid request", why, scope.get("path", ""))
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def install_input_checks(app: FastAPI) -> None:
    """NUL in the URL: 422 naming the parameter; a JSON body nested past the parser's recursion limit: 422 naming the
    depth limit (FastAPI answers a bare 400 "There was an error parsing the body")."""
    app.add_middleware(_UrlCheck)
    previous = app.exception_handlers.get(HTTPException)

    async def _http(request: Request, exc: Exception) -> Response:
        if isinstance(exc.__cause__, RecursionError):
            detail = f"the request body {depth_problem(max_json_depth())}"
            return problem_response(422, "Invalid request", detail, request.url.path)
        if previous is None:
            raise exc
        response = previous(request, exc)
        if inspect.isawaitable(response):
            response = await response
        return cast(Response, response)

    app.add_exception_handler(HTTPException, _http)
