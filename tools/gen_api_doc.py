"""Write docs/api.md from the gateway's OpenAPI schema: ``.venv/bin/python tools/gen_api_doc.py``.

tests/gateway/test_api_doc.py fails when the file is out of date.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "docs" / "api.md"

HEADER = """# API

The gateway serves the public REST API under `/api/v1` (port 4455). The live, complete schema with a "try it out"
button is at http://localhost:4455/api/docs, ReDoc at `/api/redoc` (both work offline; OpenAPI JSON:
`/api/openapi.json`). This page lists every route; it is
generated from that schema by `tools/gen_api_doc.py`.

- **Authentication**: every route except `GET /api/v1/health` and `POST /api/v1/auth/login` needs either the HTTP-only
  session cookie set by login or a personal API token as `Authorization: Bearer <token>` (create one with
  `POST /api/v1/tokens`; a token may be read-only: GET/HEAD only). A user sees only the projects they are a member
  of; others answer 404. **Who** may call a route is decided by its role (docs/roles.md): the column "who" names the
  project roles (OWNER, ENGINEER, EXPERT, ANNOTATOR) allowed, or an installation-wide rule; the installation's ADMIN
  may call every route. A member whose role may not answers 403 naming the role (schema: `x-policy`).
- **Errors** are RFC 9457 problem responses (`application/problem+json`): `{"type", "title", "status", "detail",
  "instance"}`, where `detail` names what is wrong (file, row, column, field …). A request body field the route does
  not know is an error (422 naming it), never silently ignored.
- **Long work** (upload, tokenization, embeddings, heuristic runs, weak supervision, project deletion) answers
  `202` with a job: poll `GET /api/v1/jobs/{id}` or listen on the websocket `/api/v1/ws` (cookie, bearer header or
  `?token=`), which relays each job change of the user's projects as `{"type": "job", "job": {...}}`.
- **Pagination** of records is by key: `GET …/records?limit=&after=` returns `next_after` for the next page.
- **Text that cannot be stored** is refused, never half-stored: a U+0000 (NUL) character or a lone UTF-16 surrogate in
  any request body field, URL parameter, uploaded file or snapshot answers 422 (or fails the upload/import job) naming
  the field, or the row and column; JSON nested deeper than `REFINERY_JSON_MAX_DEPTH` (64) levels likewise names the
  limit, and so does an uploaded cell longer than `REFINERY_UPLOAD_MAX_FIELD_LENGTH` characters.

"""


def render(schema: dict[str, Any]) -> str:
    """The Markdown listing of every operation, grouped by tag."""
    groups: dict[str, list[tuple[str, str, str, str]]] = {}
    for path, operations in sorted(schema["paths"].items()):
        for method, operation in operations.items():
            tag = (operation.get("tags") or ["other"])[0]
            summary = (operation.get("description") or operation.get("summary") or "").strip().splitlines()
            who = operation.get("x-policy", {}).get("who", "")
            groups.setdefault(tag, []).append((method.upper(), path, who, summary[0] if summary else ""))
    lines = [HEADER.rstrip(), ""]
    for tag in sorted(groups):
        lines += [f"## {tag}", "", "| method | path | who | what it does |", "| --- | --- | --- | --- |"]
        lines += [f"| {m} | `{p}` | {w} | {s.replace('|', '/')} |" for m, p, w, s in groups[tag]]
        lines.append("")
    lines += ["## websocket", "", "| path | what it does |", "| --- | --- |"]
    lines += [
        '| `/api/v1/ws` | job progress of the user\'s projects (send `{"project_id": …}` to narrow it), each event only to '
        "members whose role may see it (no heuristic or weak-supervision jobs for an ANNOTATOR) |",
        "",
    ]
    return "\n".join(lines)


def current() -> str:
    """The document as the code says it should be."""
    from gateway.app import create_app

    return render(create_app().openapi())


if __name__ == "__main__":
    TARGET.write_text(current())
    print(f"wrote {TARGET}", file=sys.stderr)
