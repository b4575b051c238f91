"""The installation's configuration as the web UI's configuration page shows it (read-only): limits, the spaCy
pipelines the tokenizer has and the embedding models the embedder offers."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from shared_model.service.errors import ProblemError
from shared_model.settings import get_settings

from ..clients import ServiceClient
from ..deps import CurrentUser
from ..policies import Action, allow

router = APIRouter(prefix="/api/v1/config", tags=["config"])


class Limit(BaseModel):
    name: str = Field(description="The setting's environment variable.")
    value: int | float | str
    meaning: str


class ServiceList(BaseModel):
    items: list[str]
    error: str | None = Field(description="Why the service could not be asked (then items is empty).")


class ConfigOut(BaseModel):
    limits: list[Limit]
    spacy_pipelines: ServiceList = Field(description="Installed spaCy pipeline packages (blank pipelines need none).")
    embedding_models: ServiceList


async def _ask(service: str, path: str, pick: str) -> ServiceList:
    try:
        answer: Any = await ServiceClient(service).json("GET", path)
    except ProblemError as exc:
        return ServiceList(items=[], error=exc.detail)
    values = answer.get(pick, []) if isinstance(answer, dict) else []
    return ServiceList(items=[str(v["name"] if isinstance(v, dict) else v) for v in values], error=None)


@router.get("", response_model=ConfigOut, dependencies=[allow(Action.SIGNED_IN)])
async def get_config(user: CurrentUser) -> ConfigOut:
    """Limits of this installation and what its tokenizer and embedder offer."""
    s = get_settings()
    limits = [
        Limit(name="REFINERY_UPLOAD_MAX_BYTES", value=s.upload_max_bytes, meaning="largest upload file, in bytes"),
        Limit(name="REFINERY_UPLOAD_MAX_COLUMNS", value=s.upload_max_columns, meaning="most attributes of an upload"),
        Limit(
            name="REFINERY_UPLOAD_MAX_FIELD_LENGTH",
            value=s.upload_max_field_length,
            meaning="longest value of a record's attribute, in characters",
        ),
        Limit(name="REFINERY_JSON_MAX_DEPTH", value=s.json_max_depth, meaning="deepest JSON nesting accepted"),
        Limit(
            name="REFINERY_EXECUTOR_RECORD_TIMEOUT_S",
            value=s.executor_record_timeout_s,
            meaning="time a heuristic may take per record, in seconds",
        ),
        Limit(
            name="REFINERY_RUN_TIME_LIMIT_DEFAULT_S",
            value=s.run_time_limit_default_s,
            meaning="time limit of a full run, in seconds",
        ),
        Limit(name="REFINERY_EXECUTOR_BACKEND", value=s.executor_backend, meaning="sandbox of user code"),
    ]
    return ConfigOut(
        limits=limits,
        spacy_pipelines=await _ask("tokenizer", "/pipelines", "installed"),
        embedding_models=await _ask("embedder", "/models", "models"),
    )
