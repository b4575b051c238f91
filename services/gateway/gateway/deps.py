"""FastAPI dependencies: the database session, the current user and the project they may see."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from shared_model.db import session_dependency
from shared_model.models import Project, ProjectMember, ProjectStatus, User, UserRole
from shared_model.service import problem

from .domain.users import caller_for_token, user_for_cookie

SESSION_COOKIE = "refinery_session"


get_db = session_dependency  # one session per request: shared_model's session_scope as a dependency


# scope="function": commit before the response is sent, so a client's next request sees what this one wrote
# (with the default "request" scope the commit raced the next request: a fresh login cookie was often unknown).
SessionDep = Annotated[Session, Depends(get_db, scope="function")]


def credentials(request: Request) -> tuple[str, str] | None:
    """("token", secret) from ``Authorization: Bearer``, ("cookie", secret) from the session cookie, else None."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return "token", header[7:].strip()
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        return "cookie", cookie
    return None


def resolve_caller(session: Session, found: tuple[str, str] | None) -> tuple[User, bool] | None:
    """The user behind a credential pair and whether it is a read-only API token, or None."""
    if found is None:
        return None
    kind, secret = found
    if kind == "token":
        return caller_for_token(session, secret)
    user = user_for_cookie(session, secret)
    return (user, False) if user is not None else None


def resolve_user(session: Session, found: tuple[str, str] | None) -> User | None:
    """The user behind a credential pair, or None."""
    caller = resolve_caller(session, found)
    return caller[0] if caller is not None else None


def get_current_user(request: Request, session: SessionDep) -> User:
    """The authenticated user; 401 with a reason otherwise."""
    found = credentials(request)
    if found is None:
        raise problem(401, "authentication required: log in or send 'Authorization: Bearer <API token>'")
    caller = resolve_caller(session, found)
    if caller is None:
        what = "API token is unknown, revoked or expired" if found[0] == "token" else "session expired; log in again"
        raise problem(401, f"the {what}")
    request.state.read_only_token = caller[1]  # the policy (policies.py) refuses such a token anything but GET/HEAD
    return caller[0]


CurrentUser = Annotated[User, Depends(get_current_user)]


def member_role(session: Session, user: User, project_id: uuid.UUID) -> tuple[Project, UserRole]:
    """The project and the user's role in it (an installation admin is OWNER of every project); 404 when the user is
    not a member (other users' projects are not disclosed) or the project is being deleted."""
    if user.role == UserRole.ADMIN:
        project = session.get(Project, project_id)
        role: UserRole | None = UserRole.OWNER
    else:
        row = session.execute(
            select(Project, ProjectMember.role)
            .join(ProjectMember, ProjectMember.project_id == Project.id)
            .where(Project.id == project_id, ProjectMember.user_id == user.id)
        ).first()
        project, role = (row[0], row[1]) if row is not None else (None, None)
    if project is None or role is None or project.status == ProjectStatus.IN_DELETION:
        raise problem(404, f"project {project_id} does not exist or you are not a member of it")
    return project, role


def member_project(session: Session, user: User, project_id: uuid.UUID) -> Project:
    """The project if ``user`` belongs to it (or is the installation admin); 404 otherwise."""
    return member_role(session, user, project_id)[0]


def get_member_role(project_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> tuple[Project, UserRole]:
    """The path's project and the caller's role in it, checked for membership (one query per request: FastAPI caches
    it for ``ProjectDep`` and the policy's permit alike)."""
    return member_role(session, user, project_id)


MemberRoleDep = Annotated[tuple[Project, UserRole], Depends(get_member_role)]


def get_project(found: MemberRoleDep) -> Project:
    """The path's project, checked for membership."""
    return found[0]


ProjectDep = Annotated[Project, Depends(get_project)]
