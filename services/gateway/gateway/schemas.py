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
    password_change_required: bool = Field(default=False, description="a one-time password must be changed first")
    created_at: datetime


class UserCreate(RequestModel):
    email: str = Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    password: str | None = Field(
        default=None,
        min_length=8,
        max_length=1000,
        description="the password; without it a one-time password is generated (or an invitation made, ``invite``)",
    )
    invite: bool = Field(default=False, description="make an invitation link instead of a password (no ``password``)")
    display_name: str = Field(default="", max_length=200)
    role: str = Field(default="ENGINEER", pattern="^(ADMIN|ENGINEER|EXPERT|ANNOTATOR)$")


class UserCreated(UserOut):
    one_time_password: str | None = Field(default=None, description="shown only now; to be changed at first login")
    invitation_token: str | None = Field(
        default=None, description="shown only now: the invitee sets a password with POST /api/v1/auth/invitation"
    )
    invitation_url: str | None = Field(default=None, description="the UI's link holding the invitation token")


class UserUpdate(RequestModel):
    display_name: str | None = Field(default=None, max_length=200)
    role: str | None = Field(default=None, pattern="^(ADMIN|ENGINEER|EXPERT|ANNOTATOR)$")
    is_active: bool | None = Field(default=None, description="false deactivates: no login, no token works")


class PasswordReset(BaseModel):
    one_time_password: str = Field(description="shown only now; to be changed at the next login")


class PasswordChange(RequestModel):
    current_password: str = Field(min_length=1, max_length=1000)
    new_password: str = Field(min_length=8, max_length=1000)


class InvitationAccept(RequestModel):
    token: str = Field(min_length=10, max_length=200)
    password: str = Field(min_length=8, max_length=1000)
    display_name: str | None = Field(default=None, max_length=200)


class TokenCreate(RequestModel):
    name: str = Field(min_length=1, max_length=200)
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)
    read_only: bool = Field(default=False, description="the token may only GET/HEAD (403 for any other method)")


class TokenOut(ORMModel):
    id: uuid.UUID
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    read_only: bool = False


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
    role: str | None = Field(default=None, description="the caller's role in the project (OWNER for the admin)")


class MemberIn(RequestModel):
    email: str = Field(max_length=320)
    role: str = Field(default="ENGINEER", pattern="^(OWNER|ENGINEER|EXPERT|ANNOTATOR)$")


class MemberUpdate(RequestModel):
    role: str = Field(pattern="^(OWNER|ENGINEER|EXPERT|ANNOTATOR)$")


class MemberOut(UserOut):
    project_role: str = Field(description="OWNER, ENGINEER, EXPERT or ANNOTATOR in this project")


class PermissionsOut(BaseModel):
    role: str = Field(description="the caller's role in the project (an installation admin is OWNER of every project)")
    actions: list[str] = Field(description="what the caller may do here (names of gateway.policies.Action)")


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
