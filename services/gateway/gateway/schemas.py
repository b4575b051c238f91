"""Request and response schemas of the public API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared_model.service.input_checks import find_problem


class RequestModel(BaseModel):
    """A request body: a field the API does not know is an error (422 naming it), never silently ignored."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _storable_text(cls, data: Any) -> Any:
        """422 naming the field for text PostgreSQL cannot store (NUL, lone surrogates) and for too deep nesting."""
        found = find_problem(data)
        if found is not None:
            raise ValueError(f"{found[0]} {found[1]}")
        return data


class ORMModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class LoginIn(RequestModel):
    email: str = Field(min_length=1, max_length=320)
    password: str = Field(min_length=1, max_length=1000)


class UserOut(ORMModel):
    id: uuid.UUID
    email: str
    display_name: str
    role: str
    is_active: bool
    created_at: datetime


class UserCreate(RequestModel):
    email: str = Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    password: str = Field(min_length=8, max_length=1000)
    display_name: str = Field(default="", max_length=200)
    role: str = Field(default="ENGINEER", pattern="^(ADMIN|ENGINEER|EXPERT|ANNOTATOR)$")


class TokenCreate(RequestModel):
    name: str = Field(min_length=1, max_length=200)
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)


class TokenOut(ORMModel):
    id: uuid.UUID
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(TokenOut):
    token: str = Field(description="The secret; shown only now.")


class ProjectCreate(RequestModel):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=10_000)
    tokenizer: str = Field(default="en", min_length=1, max_length=100)


class ProjectUpdate(RequestModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=10_000)
    run_time_limit_s: int | None = Field(
        default=None,
        description="Time limit of the project's full runs (heuristic runs, attribute calculations) in seconds, at most"
        " the installation's maximum (REFINERY_RUN_TIME_LIMIT_MAX_S); a run over it ends failed with the reason.",
    )


class ProjectOut(ORMModel):
    id: uuid.UUID
    name: str
    description: str
    tokenizer: str
    status: str
    created_at: datetime
    record_count: int | None = None
    run_time_limit_s: int | None = Field(default=None, description="The time limit of the project's full runs (s).")
    warnings: list[str] = Field(
        default_factory=list, description="what the project lacks, with how to fix it (e.g. a spaCy pipeline to install)"
    )
    created_by_name: str | None = Field(default=None, description="display name (else email) of the creator")
    manually_labeled: int = Field(default=0, description="records with at least one manual label")
    weakly_supervised: int = Field(default=0, description="records with at least one weak-supervision label")


class MemberIn(RequestModel):
    email: str
    role: str = Field(default="ENGINEER", pattern="^(ENGINEER|EXPERT|ANNOTATOR)$")


class AttributeOut(ORMModel):
    id: uuid.UUID
    name: str
    data_type: str
    is_primary_key: bool
    relative_position: int
    user_created: bool
    state: str
    visibility: str


class PrimaryKeyIn(RequestModel):
    is_primary_key: bool = Field(description="true: the attribute becomes part of the primary key; false: it leaves it")


class JobOut(ORMModel):
    id: uuid.UUID
    kind: str
    project_id: uuid.UUID | None
    owner_service: str
    state: str
    progress: float
    message: str
    error: str | None
    result: dict[str, Any]
    attempts: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    queue_position: int | None = Field(
        default=None, description="While queued: its place in its service's queue (1 = it starts next)."
    )
