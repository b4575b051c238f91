"""Comments on records, tasks, labels, heuristics, slices and lookup lists (markdown; private or shared)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import String, cast, or_, select

from shared_model.models import Comment, CommentTarget
from shared_model.service import problem
from shared_model.service.crud import apply_patch

from ..deps import CurrentUser, ProjectDep, SessionDep
from ..domain import comments as domain
from ..policies import Action, Permit, ProjectPermit, allow, may_reach_record, scoped_record_ids
from ..schemas import RequestModel

router = APIRouter(prefix="/api/v1/projects/{project_id}/comments", tags=["comments"])


class CommentIn(RequestModel):
    target_type: CommentTarget
    target_id: str = Field(min_length=1, max_length=64)
    body: str = Field(min_length=1, max_length=100_000, description="markdown")
    is_private: bool = False


class CommentUpdate(RequestModel):
    body: str | None = Field(default=None, min_length=1, max_length=100_000)
    is_private: bool | None = None


class CommentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    target_type: CommentTarget
    target_id: str
    body: str
    is_private: bool
    created_by: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


@router.get("", response_model=list[CommentOut])
def list_comments(
    project: ProjectDep,
    user: CurrentUser,
    permit: Annotated[Permit, allow(Action.COMMENT)],
    session: SessionDep,
    target_type: CommentTarget | None = None,
    target_id: str | None = None,
) -> list[Comment]:
    """Comments the current user may read (shared ones and their own private ones), optionally of one target. An
    annotator sees comments on records only for the records of their work, and none on heuristics or lookup lists."""
    query = select(Comment).where(*domain.visible(project.id, user))
    reachable = scoped_record_ids(permit)
    if reachable is not None:
        query = query.where(
            or_(
                Comment.target_type != CommentTarget.RECORD,
                Comment.target_id.in_(select(cast(reachable.subquery().c.record_id, String))),
            )
        )
    if not permit.can(Action.READ_HEURISTICS):
        query = query.where(Comment.target_type.not_in([CommentTarget.HEURISTIC, CommentTarget.LOOKUP_LIST]))
    if target_type is not None:
        query = query.where(Comment.target_type == target_type)
    if target_id is not None:
        query = query.where(Comment.target_id == target_id)
    return list(session.scalars(query.order_by(Comment.created_at)))


@router.post("", response_model=CommentOut, status_code=201, dependencies=[allow(Action.COMMENT)])
def create_comment(
    body: CommentIn, project: ProjectDep, permit: ProjectPermit, user: CurrentUser, session: SessionDep
) -> Comment:
    """Comment on an existing record, task, label, heuristic, slice or lookup list of the project (an annotator: only
    on records of work assigned to them)."""
    if body.target_type == CommentTarget.RECORD and not may_reach_record(session, permit, _int(body.target_id)):
        raise problem(404, f"record {body.target_id} does not exist in this project")
    target_id = domain.check_target(session, project.id, body.target_type, body.target_id)
    comment = Comment(
        project_id=project.id,
        target_type=body.target_type,
        target_id=target_id,
        body=body.body,
        is_private=body.is_private,
        created_by=user.id,
    )
    session.add(comment)
    session.flush()
    session.refresh(comment)
    return comment


@router.patch("/{comment_id}", response_model=CommentOut, dependencies=[allow(Action.COMMENT)])
def update_comment(
    comment_id: uuid.UUID, body: CommentUpdate, project: ProjectDep, user: CurrentUser, session: SessionDep
) -> Comment:
    """Edit one's own comment or make it private/shared."""
    comment = domain.own_comment(session, project.id, user, comment_id)
    apply_patch(comment, body)
    session.flush()
    session.refresh(comment)
    return comment


@router.delete("/{comment_id}", status_code=204, dependencies=[allow(Action.COMMENT)])
def delete_comment(comment_id: uuid.UUID, project: ProjectDep, user: CurrentUser, session: SessionDep) -> Response:
    """Delete one's own comment."""
    session.delete(domain.own_comment(session, project.id, user, comment_id))
    return Response(status_code=204)


def _int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        return -1
