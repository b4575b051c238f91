"""Sample projects: the project snapshots of a configured folder (``REFINERY_SAMPLE_PROJECTS_DIR``), listed and imported
as a new project of the caller with the snapshot import job."""

from __future__ import annotations

import re
import shutil
import uuid
from pathlib import Path

from fastapi import APIRouter
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from shared_model.service import problem
from shared_model.settings import get_settings

from ..deps import CurrentUser
from ..policies import Action, allow
from ..schemas import JobOut, RequestModel
from .snapshot import queue_import

router = APIRouter(prefix="/api/v1/sample-projects", tags=["projects"])

MAX_SAMPLES = 100
_SUFFIXES = (".zip", ".json")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


class SampleOut(BaseModel):
    name: str = Field(description="The sample's id: its file name without the extension.")
    title: str = Field(description="A readable name, the default name of the imported project.")
    file: str
    size_bytes: int


class SampleImportIn(RequestModel):
    project_name: str | None = Field(default=None, max_length=200, description="The new project's name (default: the title).")


def samples_dir() -> Path:
    settings = get_settings()
    return settings.sample_projects_dir or settings.data_dir / "samples"


def _title(stem: str) -> str:
    words = stem.replace("_", " ").replace("-", " ").split()
    return " ".join(words).capitalize() if words else stem


def _samples() -> list[SampleOut]:
    folder = samples_dir()
    if not folder.is_dir():
        return []
    found = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in _SUFFIXES and _NAME.match(p.stem))
    return [SampleOut(name=p.stem, title=_title(p.stem), file=p.name, size_bytes=p.stat().st_size) for p in found[:MAX_SAMPLES]]


@router.get("", response_model=list[SampleOut], dependencies=[allow(Action.SIGNED_IN)])
async def list_samples(user: CurrentUser) -> list[SampleOut]:
    """The sample projects offered here (empty when the folder is missing)."""
    return await run_in_threadpool(_samples)


@router.post("/{name}/import", response_model=JobOut, status_code=202, dependencies=[allow(Action.CREATE_PROJECT)])
async def import_sample(name: str, body: SampleImportIn, user: CurrentUser) -> JobOut:
    """Import a sample as a new project of the caller: a ``snapshot_import`` job, as ``POST /api/v1/projects/import``
    (404 for an unknown sample)."""
    sample = next((s for s in await run_in_threadpool(_samples) if s.name == name), None)
    if sample is None:
        raise problem(404, f"sample project {name!r} does not exist (GET /api/v1/sample-projects lists them)")
    source = samples_dir() / sample.file
    path = get_settings().data_dir / "uploads" / f"{uuid.uuid4().hex}.snapshot"

    def copy() -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, path)

    try:
        await run_in_threadpool(copy)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return await queue_import(path, sample.file, body.project_name if body.project_name is not None else sample.title, user)
