"""The tokenizer's internal API: validate a tokenizer setting, tokenize one record now, read a record's tokens."""

from __future__ import annotations

import uuid
from typing import Any

import spacy
import spacy.util
from fastapi import APIRouter
from pydantic import BaseModel, Field

from shared_model import jobs
from shared_model.db import session_scope
from shared_model.service import problem

from ..pipelines import UnknownTokenizer, describe
from ..tokenize import NotFound, record_tokens, text_tokens, tokenize_record
from ..warm_workers import warm_workers

router = APIRouter(tags=["tokenizer"])


class TokenizerIn(BaseModel):
    tokenizer: str = Field(min_length=1, max_length=100)


class RecordIn(BaseModel):
    record_id: int


class ProjectIn(BaseModel):
    project_id: uuid.UUID


TEXTS_MAX = 100  # texts one call tokenizes (a record edit sends the record's changed text attributes)
TEXT_MAX_CHARS = 1024 * 1024


class TextsIn(BaseModel):
    tokenizer: str = Field(min_length=1, max_length=100)
    texts: list[str] = Field(max_length=TEXTS_MAX)


@router.post("/validate_tokenizer")
def validate_tokenizer(body: TokenizerIn) -> dict[str, Any]:
    """Load a tokenizer setting (a spaCy language code or an installed package); 422 naming why it cannot be used."""
    try:
        return describe(body.tokenizer.strip()).as_dict()
    except UnknownTokenizer as exc:
        raise problem(422, str(exc)) from None


@router.post("/tokenize_record")
def tokenize_one(body: RecordIn) -> dict[str, Any]:
    """The priority path: tokenize one record now and store its DocBin."""
    try:
        with session_scope() as session:
            row = tokenize_record(session, body.record_id)
            return {"record_id": body.record_id, "columns": list(row.columns), "tokenizer": row.tokenizer}
    except NotFound as exc:
        raise problem(404, str(exc)) from None
    except UnknownTokenizer as exc:
        raise problem(422, str(exc)) from None


@router.post("/tokenize_texts")
def tokenize_texts(body: TextsIn) -> dict[str, Any]:
    """Tokens of texts that are not stored (yet): a record edit's new values, to see which spans still fit."""
    too_long = [i for i, value in enumerate(body.texts) if len(value) > TEXT_MAX_CHARS]
    if too_long:
        raise problem(422, f"texts {too_long}: longer than {TEXT_MAX_CHARS} characters")
    try:
        return {"tokenizer": body.tokenizer, "tokens": text_tokens(body.tokenizer, body.texts)}
    except UnknownTokenizer as exc:
        raise problem(422, str(exc)) from None


@router.post("/tokenize_project", status_code=202)
def tokenize_project(body: ProjectIn) -> dict[str, Any]:
    """Queue the incremental tokenization of a project (the job this service runs)."""
    with session_scope() as session:
        job = jobs.enqueue(session, kind="tokenize_project", owner_service="tokenizer", project_id=body.project_id)
        return {"job_id": str(job.id)}


@router.get("/records/{record_id}/tokens")
def tokens(record_id: int, attribute: str | None = None) -> dict[str, Any]:
    """A record's tokens (text, char start ``idx``, ``end``, whitespace, entity type) per text attribute."""
    try:
        with session_scope() as session:
            return record_tokens(session, record_id, attribute)
    except NotFound as exc:
        raise problem(404, str(exc)) from None
    except UnknownTokenizer as exc:
        raise problem(422, str(exc)) from None
    except ValueError as exc:
        raise problem(422, str(exc)) from None


@router.get("/workers")
def workers() -> dict[str, Any]:
    """The idle warm worker processes: pid, pipeline and whether it has loaded it (ops, benchmarks and tests)."""
    idle = warm_workers.idle()
    return {"workers": [{"pid": w.pid, "tokenizer": w.tokenizer, "ready": w.ready.is_set()} for w in idle]}


@router.get("/pipelines")
def pipelines() -> dict[str, Any]:
    """The spaCy pipeline packages installed where the tokenizer runs (a blank pipeline of any language code works
    without one)."""
    return {"installed": sorted(spacy.util.get_installed_models()), "spacy_version": spacy.__version__}
