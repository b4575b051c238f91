"""The record IDE: run a snippet against one record (``record`` is bound to it) and return its output and errors."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import APIRouter
from pydantic import Field
from sqlalchemy import select

from shared_model.models import Record
from shared_model.service import problem

from ..clients import ServiceClient
from ..deps import ProjectDep, SessionDep
from ..policies import Action, allow
from ..sandbox_check import SandboxRequired
from ..schemas import RequestModel

router = APIRouter(prefix="/api/v1/projects/{project_id}/records/{record_id}/ide", tags=["record ide"])


class SnippetIn(RequestModel):
    code: str = Field(min_length=1, max_length=200_000)


@router.post("", dependencies=[allow(Action.RUN_CODE), SandboxRequired])
async def run_snippet(record_id: int, body: SnippetIn, project: ProjectDep, session: SessionDep) -> Any:
    """Run ``code`` in the sandbox with ``record`` = this record (text attributes as spaCy Docs); stdout and error."""
    exists = session.scalar(select(Record.id).where(Record.id == record_id, Record.project_id == project.id))
    if exists is None:
        raise problem(404, f"record {record_id} does not exist in project {project.id}")
    session.commit()
    payload = {"project_id": str(project.id), "record_id": record_id, "code": body.code}
    timeout = httpx.Timeout(180.0, connect=5.0)
    return await ServiceClient("executor").json("POST", "/run/record-ide", json=payload, timeout=timeout)
