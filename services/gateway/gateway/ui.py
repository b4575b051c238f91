"""The web UI at ``/``: the built single-page app with a fallback to its ``index.html``, or a page saying how to build it.

Paths under ``/api/`` never reach the UI: an unknown one stays a JSON 404 problem. A missing file under ``/assets/``
is a 404 too (never ``index.html`` served as a script).
"""

from __future__ import annotations

import html
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.responses import HTMLResponse, Response
from starlette.routing import Match, Mount
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

NOT_ROUTED = ("api", "assets")


def _first_segment(path: str) -> str:
    return path.lstrip("/").split("/", 1)[0]


NOT_BUILT_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>refinery: the UI is not built</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 42rem; margin: 4rem auto; line-height: 1.5">
<h1>refinery is running, but its web UI is not built yet</h1>
<p>The gateway serves the UI from <code>{dist}</code>, which does not exist. Build it (Node.js 20.19 or newer):</p>
<pre>cd services/ui &amp;&amp; npm ci &amp;&amp; npm run build</pre>
<p>or restart with <code>./start</code>, which builds it when Node.js is installed. Then reload this page.</p>
<p>The API works without the UI: <a href="/api/docs">/api/docs</a>.</p>
</body></html>
"""


def _routed_to_ui(path: str) -> bool:
    return _first_segment(path) not in NOT_ROUTED


class SpaFiles(StaticFiles):
    """Static files of the built UI; a path that names no file gets ``index.html`` (the app routes it itself)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _first_segment(scope.get("path", "/")) == "api":
            raise HTTPException(404)  # an unknown API path, whatever the method: a 404 problem, not a 405
        await super().__call__(scope, receive, send)

    async def get_response(self, path: str, scope: Scope) -> Response:
        try:
            return await super().get_response(path, scope)
        except HTTPException as exc:
            if exc.status_code != 404 or not _routed_to_ui(path) or scope["method"] not in ("GET", "HEAD"):
                raise
        response = await super().get_response("index.html", scope)
        response.headers["Cache-Control"] = "no-cache"
        return response


class UiNotBuilt:
    """Answers every UI path with a short page on how to build the UI; ``/api/…`` stays a 404 problem."""

    def __init__(self, dist: Path) -> None:
        self.page = NOT_BUILT_PAGE.format(dist=html.escape(str(dist)))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "/")
        if scope["type"] != "http" or not _routed_to_ui(path) or scope["method"] not in ("GET", "HEAD"):
            raise HTTPException(404)
        await HTMLResponse(self.page, status_code=503)(scope, receive, send)


class UiMount(Mount):
    """The mount of the UI at ``/``: it never matches a path under ``/api/``, so the router answers those itself —
    405 for a route that exists with other methods, else its 404 problem (a mount at ``/`` would match them all)."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http" and _first_segment(scope.get("path", "/")) == "api":
            return Match.NONE, {}
        return super().matches(scope)


def ui_app(dist: Path) -> SpaFiles | UiNotBuilt:
    """What the gateway mounts at ``/`` for the UI built into ``dist``."""
    if (dist / "index.html").is_file():
        return SpaFiles(directory=dist, html=True)
    return UiNotBuilt(dist)
