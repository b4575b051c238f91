"""Snapshots: the original refinery's "project export" (a zip holding one JSON file), imported as a new project
or exported from one."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import IO, Annotated

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from shared_model import jobs
from shared_model.db import session_scope
from shared_model.models import User
from shared_model.service import problem
from shared_model.settings import get_settings

from ..deps import CurrentUser, ProjectDep
from ..domain.snapshot.reading import SnapshotError, peek_snapshot
from ..domain.snapshot.tokenizer import TokenizerChoice, choose_tokenizer
from ..domain.snapshot_export import export_snapshot, file_name
from ..policies import Action, allow
from ..schemas import JobOut

router = APIRouter(prefix="/api/v1/projects", tags=["projects"])


@router.post("/import", response_model=JobOut, status_code=202, dependencies=[allow(Action.CREATE_PROJECT)])
async def import_snapshot(
    user: CurrentUser,
    file: Annotated[UploadFile, File(description="the project export: a .zip holding one .json file, or the .json")],
    name: Annotated[str | None, Form(max_length=200, description="the new project's name (default: the snapshot's)")] = None,
) -> JobOut:
    """Import a project snapshot (the original refinery's project export) as a new project of the caller.

    The file is checked at once (415/422 naming the problem: not a zip or JSON, no JSON inside, missing keys; a
    snapshot of more than 32 MiB of JSON is parsed once, by the job, and only its start is checked here); a
    ``snapshot_import`` job then creates the project with its attributes, records, labeling tasks and labels, lookup
    lists, heuristics and their labels, and manual labels, all or nothing. The job's result names the new project
    (``project_id``), what was imported and what was skipped (embeddings, weak supervision, slices, comments).
    """
    settings = get_settings()
    filename = Path((file.filename or "snapshot").replace("\\", "/")).name or "snapshot"
    path = settings.data_dir / "uploads" / f"{uuid.uuid4().hex}.snapshot"

    def store() -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            shutil.copyfileobj(file.file, handle, 1 << 20)

    try:
        await run_in_threadpool(store)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return await queue_import(path, filename, name, user)


async def queue_import(path: Path, filename: str, name: str | None, user: User) -> JobOut:
    """Check the stored snapshot at ``path`` (it becomes the job's: deleted here when refused) and queue its
    ``snapshot_import`` job; also used for the sample projects."""
    settings = get_settings()
    if name is not None and not name.strip():
        path.unlink(missing_ok=True)
        raise problem(422, "name must not be blank")
    if name is not None and any(ord(c) < 32 for c in name):
        path.unlink(missing_ok=True)
        raise problem(422, "name must not hold control characters (line breaks, tabs, NUL …)")

    def check() -> tuple[str] | None:
        """The snapshot's tokenizer setting (a 1-tuple), None when the job is to find it (a big snapshot is parsed
        once, by the job)."""
        if path.stat().st_size > settings.upload_max_bytes:
            raise SnapshotError(f"{filename} is larger than the upload limit of {settings.upload_max_bytes} bytes", 413)
        if path.stat().st_size == 0:
            raise SnapshotError(f"{filename} is empty", 422)
        found, value = peek_snapshot(path, filename, settings.upload_max_bytes)
        return (str(value or ""),) if found else None

    def enqueue_job(choice: TokenizerChoice | None) -> JobOut:
        with session_scope() as session:
            job = jobs.enqueue(
                session,
                kind="snapshot_import",
                owner_service="gateway",
                parameters={
                    "path": str(path.resolve()),
                    "filename": filename,
                    "name": name.strip() if name else None,
                    "user_id": str(user.id),
                    "tokenizer": asdict(choice) if choice is not None else None,
                    "check_tokenizer": choice is None,
                },
                created_by=user.id,
            )
            session.flush()
            session.refresh(job)
            return JobOut.model_validate(job)

    try:
        found = await run_in_threadpool(check)
        # as for a new project: the tokenizer service must know it (checked by the job when only it reads the details)
        choice = await choose_tokenizer(found[0]) if found is not None else None
        return await run_in_threadpool(enqueue_job, choice)
    except SnapshotError as exc:
        path.unlink(missing_ok=True)
        raise problem(exc.status, exc.detail) from None
    except BaseException:
        path.unlink(missing_ok=True)
        raise


@router.get(
    "/{project_id}/snapshot",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/zip": {}}, "description": "the snapshot: a zip holding one JSON file"}},
    dependencies=[allow(Action.EXPORT)],
)
async def export_project_snapshot(project: ProjectDep) -> StreamingResponse:
    """Download the project as a snapshot (the original refinery's project export format: a zip holding one JSON file).

    It holds the project's details, attributes, records, labeling tasks and labels (colours, hotkeys), heuristics (code
    and type; a zero-shot heuristic's configuration), manual labels (spans as token rows), heuristics' votes with their
    confidences, and lookup lists with their terms; ``POST /api/v1/projects/import`` reads it back as a new project.
    Embeddings, heuristic runs and statistics, weak supervision, data slices and comments are left empty (recomputed or
    specific to this installation). The zip is built in a temporary file first (one consistent read of the database),
    then streamed.
    """
    project_id, name = project.id, project.name
    folder = get_settings().data_dir / "exports"

    def build() -> tuple[IO[bytes], int]:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{uuid.uuid4().hex}.zip"
        try:
            export_snapshot(project_id, path)
            handle = path.open("rb")
            return handle, path.stat().st_size
        finally:  # the open handle keeps the data until the download ends (or is abandoned)
            path.unlink(missing_ok=True)

    def blocks(handle: IO[bytes]) -> Iterator[bytes]:
        with handle:
            while block := handle.read(1 << 20):
                yield block

    try:
        handle, size = await run_in_threadpool(build)
    except LookupError:  # deleted since the membership check
        raise problem(404, f"project {project_id} does not exist") from None
    return StreamingResponse(
        blocks(handle),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{file_name(name)}"', "Content-Length": str(size)},
    )
