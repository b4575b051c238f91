"""A project's data: upload a file (as a job), list records (keyset pagination), export (streamed)."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from python_multipart.multipart import MultipartParser, parse_options_header
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from shared_model import jobs
from shared_model.db import session_scope
from shared_model.models import Attribute, Record
from shared_model.service import problem
from shared_model.settings import get_settings

from ..deps import CurrentUser, ProjectDep, SessionDep
from ..domain.browser import search
from ..domain.browser.compile import ProjectCatalog
from ..domain.browser.filters import FilterGroup
from ..domain.export import MEDIA_TYPES, XLSX_MAX_ROWS, Exporter, ExportSelection
from ..domain.spreadsheet import RAW_DESCRIPTION
from ..domain.upload import UploadError, file_format, read_head, schema_differences, split_columns
from ..domain.upload.loader import project_attributes, project_has_records
from ..policies import Action, ProjectPermit, allow, record_scope
from ..schemas import JobOut, RequestModel

router = APIRouter(prefix="/api/v1/projects/{project_id}", tags=["data"])

MULTIPART_SLACK = 64 * 1024  # multipart headers and boundaries around the file


class RecordOut(BaseModel):
    id: int
    data: dict[str, Any]


class RecordPage(BaseModel):
    items: list[RecordOut]
    next_after: int | None = None


class _TooLarge(Exception):
    pass


class _FilePart:
    """Receives the multipart stream: the ``file`` field goes straight to disk, with the size limit enforced."""

    def __init__(self, folder: Path, max_bytes: int, content_length: int | None) -> None:
        self.folder = folder
        self.max_bytes = max_bytes
        self.content_length = content_length
        self.headers: dict[bytes, bytes] = {}
        self.field = b""
        self.value = b""
        self.filename: str | None = None
        self.fmt = ""
        self.path: Path | None = None
        self.handle: Any = None
        self.size = 0
        self.in_file = False
        self.fields: dict[str, str] = {}

    def on_part_begin(self) -> None:
        self.headers, self.in_file, self.value = {}, False, b""

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.value += data[start:end]

    def on_header_end(self) -> None:
        self.headers[self.field.lower()] = self.value
        self.field, self.value = b"", b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self.headers.get(b"content-disposition", b""))
        name = options.get(b"name", b"").decode("utf-8", "replace")
        filename = options.get(b"filename")
        if name != "file" or filename is None or self.filename is not None:
            return
        self.filename = Path(filename.decode("utf-8", "replace").replace("\\", "/")).name or "upload"
        self.fmt = file_format(self.filename)
        if self.content_length is not None and self.content_length > self.max_bytes + MULTIPART_SLACK:
            raise _TooLarge()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path = self.folder / f"{uuid.uuid4().hex}{Path(self.filename).suffix.lower()}"
        self.handle = self.path.open("wb")
        self.in_file = True

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.in_file:
            self.size += end - start
            if self.size > self.max_bytes:
                raise _TooLarge()
            self.handle.write(data[start:end])

    def on_part_end(self) -> None:
        if self.in_file:
            self.handle.close()
            self.in_file = False

    def discard(self) -> None:
        if self.handle is not None:
            self.handle.close()
        if self.path is not None:
            self.path.unlink(missing_ok=True)


_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary", "description": "JSON, JSONL/NDJSON, CSV/TXT or XLSX"}
                    },
                }
            }
        },
    }
}


@router.post(
    "/upload", response_model=JobOut, status_code=202, openapi_extra=_UPLOAD_BODY, dependencies=[allow(Action.EDIT_PROJECT)]
)
async def upload(request: Request, project: ProjectDep, user: CurrentUser, mode: Literal["append"] = Query("append")) -> JobOut:
    """Upload a file as multipart field ``file``; its records are loaded by an ``upload`` job (all or nothing).

    The header and first rows are checked at once (4xx naming file, row and column); the job checks the rest.
    Appending to a project with records requires the same attribute columns.
    """
    settings = get_settings()
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise problem(415, "send the file as multipart/form-data with the field 'file'")
    length_header = request.headers.get("content-length")
    content_length = int(length_header) if length_header and length_header.isdigit() else None
    part = _FilePart(settings.data_dir / "uploads", settings.upload_max_bytes, content_length)
    parser = MultipartParser(boundary, callbacks=_callbacks(part))  # type: ignore[arg-type]
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
    except _TooLarge:
        part.discard()
        raise problem(413, f"{part.filename} is larger than the upload limit of {_size(settings.upload_max_bytes)}") from None
    except UploadError as exc:
        part.discard()
        raise problem(exc.status, exc.detail) from None
    except Exception as exc:  # noqa: BLE001 - a broken multipart body
        part.discard()
        raise problem(400, f"malformed multipart body: {exc}") from None
    if part.path is None or part.filename is None:
        raise problem(422, "no file in the request: send it as multipart/form-data field 'file'")
    try:
        return await run_in_threadpool(_accept, part.path, part.filename, part.fmt, project.id, user.id)
    except UploadError as exc:
        part.path.unlink(missing_ok=True)
        raise problem(exc.status, exc.detail) from None
    except BaseException:
        part.path.unlink(missing_ok=True)
        raise


def _callbacks(part: _FilePart) -> dict[str, Any]:
    names = [
        "on_part_begin",
        "on_header_field",
        "on_header_value",
        "on_header_end",
        "on_headers_finished",
        "on_part_data",
        "on_part_end",
    ]
    return {name: getattr(part, name) for name in names}


def _size(n: int) -> str:
    for unit, factor in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= factor and n % factor == 0:
            return f"{n // factor} {unit} ({n} bytes)"
    return f"{n} bytes"


def _accept(path: Path, filename: str, fmt: str, project_id: uuid.UUID, user_id: uuid.UUID) -> JobOut:
    """Check the file's head and (when appending) its columns, then enqueue the upload job."""
    settings = get_settings()
    head = read_head(path, filename, fmt, settings.upload_max_columns)
    with session_scope() as session:
        cursor = session.connection().connection.cursor()
        if project_has_records(cursor, project_id):
            attributes = project_attributes(cursor, project_id)
            differences = schema_differences(split_columns(filename, head.header, set(attributes)), attributes)
            if differences:
                raise UploadError(f"{filename} does not match the project's attributes: " + "; ".join(differences), 409)
        else:
            split_columns(filename, head.header)
        job = jobs.enqueue(
            session,
            kind="upload",
            owner_service="gateway",
            project_id=project_id,
            parameters={
                "path": str(path.resolve()),
                "filename": filename,
                "format": fmt,
                "delimiter": head.delimiter,
                "user_id": str(user_id),
                "mode": "append",
            },
            created_by=user_id,
        )
        session.flush()
        session.refresh(job)
        return JobOut.model_validate(job)


@router.get("/records", response_model=RecordPage, dependencies=[allow(Action.LABEL)])
def list_records(
    project: ProjectDep,
    permit: ProjectPermit,
    session: SessionDep,
    limit: int = Query(100, ge=1, le=1000),
    after: int | None = Query(None, description="Return records with an id greater than this (the last page's next_after)."),
) -> RecordPage:
    """Records in id order, ``limit`` at a time; pass ``next_after`` as ``after`` for the next page (an annotator gets
    only the records of work assigned to them)."""
    query = select(Record.id, Record.data).where(Record.project_id == project.id, record_scope(permit))
    if after is not None:
        query = query.where(Record.id > after)
    rows = session.execute(query.order_by(Record.id).limit(limit + 1)).all()
    order = list(
        session.scalars(select(Attribute.name).where(Attribute.project_id == project.id).order_by(Attribute.relative_position))
    )
    items = [RecordOut(id=row[0], data=ordered_data(row[1], order)) for row in rows[:limit]]
    return RecordPage(items=items, next_after=items[-1].id if len(rows) > limit else None)


def ordered_data(data: dict[str, Any], order: list[str]) -> dict[str, Any]:
    """A record's values in the attributes' column order (unknown keys last)."""
    out = {name: data[name] for name in order if name in data}
    out.update((key, value) for key, value in data.items() if key not in out)
    return out


@router.get("/export", dependencies=[allow(Action.EXPORT)])
def export(
    project: ProjectDep,
    format: Literal["json", "jsonl", "csv", "xlsx"] = Query("json"),
    raw: bool = Query(False, description=RAW_DESCRIPTION),
) -> StreamingResponse:
    """All records with their labels, streamed: JSON (the original's format, an array), JSONL, CSV or XLSX.

    CSV and XLSX cells that a spreadsheet program would run as a formula (text beginning with =, +, -, @, a tab or a
    carriage return) get a leading apostrophe unless ``raw=true``; XLSX text cells are always text, never formulas,
    and characters XML cannot hold become U+FFFD. XLSX holds at most 1,048,575 records (422 beyond).
    """
    exporter = Exporter(project.id)
    if format == "xlsx" and exporter.record_count() >= XLSX_MAX_ROWS:
        raise problem(422, f"an XLSX worksheet holds at most {XLSX_MAX_ROWS - 1} records; export csv or jsonl instead")
    safe = re.sub(r"[^\w.-]+", "_", project.name, flags=re.ASCII).strip("_") or "export"
    return StreamingResponse(
        exporter.stream(format, raw),
        media_type=MEDIA_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="{safe}.{format}"'},
    )


EXPORT_MAX_RECORDS = 1_000_000  # records a filtered export may select


class ExportIn(RequestModel):
    format: Literal["json", "jsonl", "csv", "xlsx"] = "json"
    raw: bool = Field(default=False, description=RAW_DESCRIPTION)
    filter: FilterGroup | None = Field(
        default=None,
        description="The records to export (the data browser's filter; a slice is an in_slice condition); null: all.",
    )
    attributes: list[str] | None = Field(default=None, max_length=1000, description="Attribute columns to keep; null: all.")
    task_ids: list[uuid.UUID] | None = Field(default=None, max_length=1000, description="Labeling tasks to keep; null: all.")
    sources: list[Literal["MANUAL", "WEAK_SUPERVISION"]] | None = Field(
        default=None, max_length=2, description="Label sources whose columns to keep; null: both."
    )
    heuristic_ids: list[uuid.UUID] | None = Field(
        default=None,
        max_length=100,
        description="Heuristics whose votes become columns ({attr}__{task}__HEURISTIC__{name}: the voted label, a list"
        " for multi-label, a B-/I-/OUTSIDE array for extraction); null: none. A heuristic of a task left out by"
        " task_ids is a 422.",
    )


@router.post("/export", dependencies=[allow(Action.EXPORT)])
def export_selection(body: ExportIn, project: ProjectDep, user: CurrentUser, session: SessionDep) -> StreamingResponse:
    """Part of the export, as the data browser's export dialog asks for it: the records a filter selects (at most
    1,000,000), chosen attribute columns, tasks and label sources; the rows and formats are those of ``GET /export``.
    A name that is not the project's attribute or task is a 422."""
    names = set(session.scalars(select(Attribute.name).where(Attribute.project_id == project.id)))
    unknown = [name for name in body.attributes or [] if name not in names]
    if unknown:
        raise problem(422, f"attributes: {', '.join(map(repr, unknown))} not in this project")
    record_ids = None
    if body.filter is not None:
        catalog = ProjectCatalog.load(session, project.id, user.id)
        record_ids = search.record_ids(session, catalog, body.filter, [], limit=EXPORT_MAX_RECORDS)
    task_ids = None if body.task_ids is None else [str(task_id) for task_id in body.task_ids]
    sources = None if body.sources is None else [str(source) for source in body.sources]
    heuristic_ids = None if body.heuristic_ids is None else [str(h) for h in body.heuristic_ids]
    exporter = Exporter(project.id, ExportSelection(record_ids, body.attributes, task_ids, sources, heuristic_ids))
    missing = set(task_ids or []) - {task.id for task in exporter.tasks}
    if missing:
        raise problem(422, f"task_ids: {', '.join(sorted(missing))} not labeling tasks of this project")
    if exporter.unknown_heuristics:
        raise problem(
            422,
            f"heuristic_ids: {', '.join(exporter.unknown_heuristics)} not heuristics of this project's exported tasks",
        )
    if body.format == "xlsx" and exporter.record_count() >= XLSX_MAX_ROWS:
        raise problem(422, f"an XLSX worksheet holds at most {XLSX_MAX_ROWS - 1} records; export csv or jsonl instead")
    safe = re.sub(r"[^\w.-]+", "_", project.name, flags=re.ASCII).strip("_") or "export"
    return StreamingResponse(
        exporter.stream(body.format, body.raw),
        media_type=MEDIA_TYPES[body.format],
        headers={"Content-Disposition": f'attachment; filename="{safe}.{body.format}"'},
    )
