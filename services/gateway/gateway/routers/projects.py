"""Projects: create, list, get, rename, delete (as a job), members and attributes."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Response
from sqlalchemy import func, literal, select
from starlette.concurrency import run_in_threadpool

from shared_model import jobs, kept_figures
from shared_model.models import (
    Attribute,
    Project,
    ProjectMember,
    ProjectRecordCount,
    ProjectStatus,
    User,
    UserRole,
)
from shared_model.run_limits import RUN_TIME_LIMIT_KEY, project_run_time_limit, run_time_limit_problem
from shared_model.service import problem
from shared_model.service.crud import apply_patch

from ..clients import ServiceClient
from ..deps import CurrentUser, ProjectDep, SessionDep
from ..domain import primary_key
from ..domain.snapshot.tokenizer import MISSING_PIPELINE, pipeline_warning
from ..policies import Action, Permit, allow
from ..schemas import (
    AttributeOut,
    JobOut,
    MemberIn,
    MemberOut,
    MemberUpdate,
    PermissionsOut,
    PrimaryKeyIn,
    ProjectCreate,
    ProjectOut,
    ProjectUpdate,
    UserOut,
)

router = APIRouter(prefix="/api/v1/projects", tags=["projects"])


def project_out(session: SessionDep, project: Project) -> ProjectOut:
    out = ProjectOut.model_validate(project)
    out.record_count = session.scalar(select(ProjectRecordCount.records).where(ProjectRecordCount.project_id == project.id)) or 0
    out.run_time_limit_s = project_run_time_limit(project.settings)
    out.warnings = project_warnings(project)
    _add_summaries(session, [out])
    return out


def project_warnings(project: Project) -> list[str]:
    """The project's warnings: a snapshot's spaCy pipeline that is not installed here (with the install command)."""
    missing = (project.settings or {}).get(MISSING_PIPELINE)
    return [pipeline_warning(str(missing), project.tokenizer)] if missing else []


def _add_summaries(session: SessionDep, projects: list[ProjectOut]) -> None:
    """Fill each project's creator name and its numbers of manually labeled and weakly supervised records."""
    if not projects:
        return
    ids = [p.id for p in projects]
    creators: dict[uuid.UUID, str] = dict(
        session.execute(
            select(Project.id, func.coalesce(func.nullif(User.display_name, ""), User.email))
            .join(User, User.id == Project.created_by)
            .where(Project.id.in_(ids))
        ).all()
    )
    manual = kept_figures.manually_labeled(session, ids)
    weak = kept_figures.weakly_supervised(session, ids)
    for out in projects:
        out.created_by_name = creators.get(out.id)
        out.manually_labeled, out.weakly_supervised = int(manual.get(out.id, 0)), int(weak.get(out.id, 0))


DEFAULT_TOKENIZER = "en"


@router.post("", response_model=ProjectOut, status_code=201, dependencies=[allow(Action.CREATE_PROJECT)])
async def create_project(body: ProjectCreate, user: CurrentUser, session: SessionDep) -> ProjectOut:
    """Create a project; its creator becomes a member.

    A tokenizer other than the default blank English is checked by the tokenizer service first (422 when unknown).
    """
    tokenizer = body.tokenizer.strip()
    if tokenizer != DEFAULT_TOKENIZER:
        await ServiceClient("tokenizer").json("POST", "/validate_tokenizer", json={"tokenizer": tokenizer})

    def save() -> ProjectOut:
        project = Project(name=body.name.strip(), description=body.description, tokenizer=tokenizer, created_by=user.id)
        session.add(project)
        session.flush()
        session.add(ProjectMember(project_id=project.id, user_id=user.id, role=UserRole.OWNER))
        session.flush()
        session.refresh(project)
        return project_out(session, project)

    return await run_in_threadpool(save)


@router.get("", response_model=list[ProjectOut], dependencies=[allow(Action.SIGNED_IN)])
def list_projects(user: CurrentUser, session: SessionDep) -> list[ProjectOut]:
    """The projects the current user belongs to (every project for the installation's admin), newest first, each
    with the caller's ``role`` in it."""
    if user.role == UserRole.ADMIN:
        query = select(Project, func.coalesce(ProjectRecordCount.records, 0), literal(UserRole.OWNER.value))
    else:
        query = (
            select(Project, func.coalesce(ProjectRecordCount.records, 0), ProjectMember.role)
            .join(ProjectMember, ProjectMember.project_id == Project.id)
            .where(ProjectMember.user_id == user.id)
        )
    rows = session.execute(
        query.outerjoin(ProjectRecordCount, ProjectRecordCount.project_id == Project.id)
        .where(Project.status != ProjectStatus.IN_DELETION)
        .order_by(Project.created_at.desc())
    ).all()
    result = []
    for project, count, role in rows:
        out = ProjectOut.model_validate(project)
        out.record_count = count
        out.run_time_limit_s = project_run_time_limit(project.settings)
        out.warnings = project_warnings(project)
        out.role = str(role)
        result.append(out)
    _add_summaries(session, result)
    return result


@router.get("/{project_id}", response_model=ProjectOut)
def get_project(permit: Annotated[Permit, allow(Action.READ_PROJECT)], session: SessionDep) -> ProjectOut:
    """One project with its record count and the caller's ``role`` in it."""
    assert permit.project is not None and permit.role is not None
    out = project_out(session, permit.project)
    out.role = permit.role.value
    return out


@router.get("/{project_id}/permissions", response_model=PermissionsOut)
def my_permissions(permit: Annotated[Permit, allow(Action.READ_PROJECT)]) -> PermissionsOut:
    """The caller's role in the project and what it lets them do (``gateway.policies.Action`` names; docs/roles.md)."""
    assert permit.role is not None
    return PermissionsOut(role=permit.role.value, actions=[a.name for a in Action if permit.can(a)])


@router.patch("/{project_id}", response_model=ProjectOut, dependencies=[allow(Action.EDIT_PROJECT)])
def update_project(body: ProjectUpdate, project: ProjectDep, session: SessionDep) -> ProjectOut:
    """Rename a project, change its description or the time limit of its full runs (``run_time_limit_s``, within
    the installation's maximum: 422 naming it otherwise)."""
    if body.run_time_limit_s is not None:
        reason = run_time_limit_problem(body.run_time_limit_s)
        if reason is not None:
            raise problem(422, reason)
        project.settings = {**(project.settings or {}), RUN_TIME_LIMIT_KEY: body.run_time_limit_s}
    apply_patch(project, body, ("name", "description"), clean={"name": str.strip})
    session.flush()
    session.refresh(project)
    return project_out(session, project)


@router.delete("/{project_id}", response_model=JobOut, status_code=202, dependencies=[allow(Action.DELETE_PROJECT)])
def delete_project(project: ProjectDep, user: CurrentUser, session: SessionDep) -> object:
    """Delete a project and everything in it, as a job; it disappears from listings at once."""
    project.status = ProjectStatus.IN_DELETION
    return jobs.enqueue(session, kind="project_delete", owner_service="gateway", project_id=project.id, created_by=user.id)


@router.get("/{project_id}/attributes", response_model=list[AttributeOut], dependencies=[allow(Action.READ_PROJECT)])
def list_attributes(project: ProjectDep, session: SessionDep) -> list[Attribute]:
    """The project's attributes in column order."""
    return list(
        session.scalars(select(Attribute).where(Attribute.project_id == project.id).order_by(Attribute.relative_position))
    )


@router.put(
    "/{project_id}/attributes/{attribute_id}/primary-key",
    response_model=list[AttributeOut],
    dependencies=[allow(Action.EDIT_PROJECT)],
)
def set_primary_key(attribute_id: uuid.UUID, body: PrimaryKeyIn, project: ProjectDep, session: SessionDep) -> list[Attribute]:
    """Set (`{"is_primary_key": true}`) or clear (`false`) an attribute as part of the primary key; returns the attributes.

    The attributes flagged together are the key: every record must have a value for each and no combination may
    appear twice, else 409 naming the records (nothing changes). 404 for an attribute of another project; 422 for a
    calculated attribute that has no values yet.
    """
    return primary_key.set_primary_key(session, project, attribute_id, body.is_primary_key)


def _member_out(user: User, role: UserRole) -> MemberOut:
    return MemberOut.model_validate({**UserOut.model_validate(user).model_dump(), "project_role": role.value})


@router.get("/{project_id}/members", response_model=list[MemberOut], dependencies=[allow(Action.READ_PROJECT)])
def list_members(project: ProjectDep, session: SessionDep) -> list[MemberOut]:
    """The project's members with their role in it (``project_role``)."""
    rows = session.execute(
        select(User, ProjectMember.role)
        .join(ProjectMember, ProjectMember.user_id == User.id)
        .where(ProjectMember.project_id == project.id)
        .order_by(ProjectMember.created_at)
    ).all()
    return [_member_out(user, role) for user, role in rows]


@router.post("/{project_id}/members", response_model=MemberOut, status_code=201, dependencies=[allow(Action.MANAGE_MEMBERS)])
def add_member(body: MemberIn, project: ProjectDep, session: SessionDep) -> MemberOut:
    """Add an existing user to the project with a role (OWNER, ENGINEER, EXPERT or ANNOTATOR; default ENGINEER); a
    member already there keeps their role (change it with PATCH)."""
    member = session.scalar(select(User).where(func.lower(User.email) == body.email.strip().lower()))
    if member is None:
        raise problem(404, f"no user with email {body.email!r}")
    row = _membership(session, project.id, member.id)
    if row is None:
        row = ProjectMember(project_id=project.id, user_id=member.id, role=UserRole(body.role))
        session.add(row)
    return _member_out(member, row.role)


def _membership(session: SessionDep, project_id: uuid.UUID, user_id: uuid.UUID) -> ProjectMember | None:
    return session.scalar(
        select(ProjectMember).where(ProjectMember.project_id == project_id, ProjectMember.user_id == user_id).with_for_update()
    )


def _owners(session: SessionDep, project_id: uuid.UUID) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(ProjectMember)
            .where(ProjectMember.project_id == project_id, ProjectMember.role == UserRole.OWNER)
        )
        or 0
    )


@router.patch("/{project_id}/members/{user_id}", response_model=MemberOut, dependencies=[allow(Action.MANAGE_MEMBERS)])
def change_member_role(user_id: uuid.UUID, body: MemberUpdate, project: ProjectDep, session: SessionDep) -> MemberOut:
    """Change a member's role; the project's last OWNER cannot be demoted (409: make another member OWNER first)."""
    row = _membership(session, project.id, user_id)
    if row is None:
        raise problem(404, f"user {user_id} is not a member of this project")
    role = UserRole(body.role)
    if row.role == UserRole.OWNER and role != UserRole.OWNER and _owners(session, project.id) == 1:
        raise problem(409, "this is the project's last OWNER; make another member OWNER first")
    row.role = role
    user = session.get(User, user_id)
    assert user is not None
    return _member_out(user, role)


@router.delete("/{project_id}/members/{user_id}", status_code=204, dependencies=[allow(Action.MANAGE_MEMBERS)])
def remove_member(user_id: uuid.UUID, project: ProjectDep, session: SessionDep) -> Response:
    """Remove a member; the last member and the last OWNER cannot be removed (409)."""
    members = list(session.scalars(select(ProjectMember).where(ProjectMember.project_id == project.id)))
    target = next((m for m in members if m.user_id == user_id), None)
    if target is None:
        raise problem(404, f"user {user_id} is not a member of this project")
    if len(members) == 1:
        raise problem(409, "cannot remove the project's last member; delete the project instead")
    if target.role == UserRole.OWNER and sum(m.role == UserRole.OWNER for m in members) == 1:
        raise problem(409, "cannot remove the project's last OWNER; make another member OWNER first")
    session.delete(target)
    return Response(status_code=204)
