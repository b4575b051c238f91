"""Tokens of a record and the project's tokenizer setting (through the tokenizer service)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from shared_model import jobs
from shared_model.models import Job

from ..clients import ServiceClient
from ..deps import CurrentUser, ProjectDep, SessionDep
from ..domain.labeling import get_record
from ..domain.snapshot.tokenizer import MISSING_PIPELINE
from ..policies import Action, allow
from ..schemas import JobOut, RequestModel

router = APIRouter(prefix="/api/v1/projects/{project_id}", tags=["tokens"])


class TokenizerIn(RequestModel):
    tokenizer: str = Field(
        min_length=1, max_length=100, description="a spaCy language code (blank pipeline) or an installed package"
    )


class TokenizerOut(BaseModel):
    tokenizer: str
    pipeline: dict[str, Any]
    job: JobOut | None


@router.get("/records/{record_id}/tokens", dependencies=[allow(Action.LABEL)])
async def record_tokens(record_id: int, project: ProjectDep, session: SessionDep, attribute: str | None = None) -> dict[str, Any]:
    """A record's tokens per text attribute: text, char start ``idx``, ``end``, whitespace, entity type."""
    await run_in_threadpool(get_record, session, project.id, record_id)
    params = {"attribute": attribute} if attribute is not None else {}
    result: dict[str, Any] = await ServiceClient("tokenizer").json("GET", f"/records/{record_id}/tokens", params=params)
    return result


@router.put("/tokenizer", response_model=TokenizerOut, dependencies=[allow(Action.EDIT_PROJECT)])
async def set_tokenizer(body: TokenizerIn, project: ProjectDep, user: CurrentUser, session: SessionDep) -> TokenizerOut:
    """Change the project's tokenizer (checked by the tokenizer service; 422 when unknown) and re-tokenize every record."""
    name = body.tokenizer.strip()
    pipeline: dict[str, Any] = await ServiceClient("tokenizer").json("POST", "/validate_tokenizer", json={"tokenizer": name})

    def save() -> Job:
        project.tokenizer = name
        if MISSING_PIPELINE in (project.settings or {}):  # the user chose: the snapshot's pipeline is no longer wanted
            project.settings = {k: v for k, v in project.settings.items() if k != MISSING_PIPELINE}
        return jobs.enqueue(
            session, kind="tokenize_project", owner_service="tokenizer", project_id=project.id, created_by=user.id
        )

    job = await run_in_threadpool(save)
    return TokenizerOut(tokenizer=name, pipeline=pipeline, job=JobOut.model_validate(job))


@router.post("/tokenize", response_model=JobOut, status_code=202, dependencies=[allow(Action.EDIT_PROJECT)])
def tokenize(project: ProjectDep, user: CurrentUser, session: SessionDep) -> Job:
    """Tokenize the records that have no up-to-date tokens yet (new records, new text attributes)."""
    return jobs.enqueue(session, kind="tokenize_project", owner_service="tokenizer", project_id=project.id, created_by=user.id)
