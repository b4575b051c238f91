"""Who may call what: the one module that decides every gateway route (as Argilla's policies do).

Each route declares the action it performs with a dependency, ``dependencies=[allow(Action.RUN_CODE)]`` (or a
parameter ``permit: Annotated[Permit, allow(Action.LABEL)]`` when the handler asks further questions, e.g.
``permit.can(Action.READ_HEURISTICS)`` to leave heuristic votes out of a response). Handlers never compare roles.

- Installation actions (``PUBLIC``, ``OWN_ACCOUNT``, ``SIGNED_IN``, ``CREATE_PROJECT``, ``MANAGE_USERS``) look at the
  user only; an installation admin (``User.role`` ADMIN) may do all of them.
- Project actions need a ``{project_id}`` in the path: a non-member gets 404 (the project is not disclosed), a member
  whose role lacks the action 403 naming the role and the action. The admin acts as OWNER of every project.
- A read-only API token may only GET/HEAD (403 otherwise); a user holding a one-time password may only change it.
- An ANNOTATOR reaches only the records of work assigned to them (gateway/domain/assignments.py): a route with a
  ``{record_id}`` in its path (or a ``target_type=RECORD&target_id=`` query) for another record answers 404, as for a
  record that does not exist, so ids do not leak; list routes ask :func:`record_scope`. On a record of an assignment
  whose bias guard the engineer switched off, the annotator may also see others' labels and heuristic votes.

tests/gateway/test_route_policies.py walks every route for every role against its own table: a route without a
policy fails it. docs/roles.md is the summary for people.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import ColumnElement, Select, true
from sqlalchemy.orm import Session

from shared_model.models import Project, Record, User, UserRole, WorkAssignmentItem
from shared_model.service import problem

from .deps import CurrentUser, MemberRoleDep, SessionDep, member_role
from .domain import assignments

OWNER, ENGINEER, EXPERT, ANNOTATOR = UserRole.OWNER, UserRole.ENGINEER, UserRole.EXPERT, UserRole.ANNOTATOR
PROJECT_ROLES = (OWNER, ENGINEER, EXPERT, ANNOTATOR)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class Action(enum.StrEnum):
    """What a route does, as far as who may do it is concerned (the value is how a refusal names it)."""

    # installation
    PUBLIC = "call this route"
    OWN_ACCOUNT = "read or change their own account"
    SIGNED_IN = "use the API"
    CREATE_PROJECT = "create or import projects"
    MANAGE_USERS = "manage the installation's users"
    # one project
    READ_PROJECT = "read the project's settings, tasks, members and jobs"
    LABEL = "read and label records"
    COMMENT = "comment"
    SET_GOLD = "set gold stars"
    BULK_LABEL = "label many records at once (by ids or a filter)"
    READ_ALL_LABELS = "see other members' manual labels"
    READ_HEURISTICS = "see heuristics, their votes, lookup lists and weak-supervision labels"
    BROWSE_DATA = "use the data browser and the overview"
    EXPORT = "export records"
    ASSIGN_WORK = "assign work to annotators, follow their progress and revert their labels"
    EDIT_PROJECT = "change the project (data, tasks, embeddings, lookup lists, slices, weak supervision)"
    RUN_CODE = "run code on the server (heuristics, calculated attributes, record IDE, zero-shot)"
    MANAGE_MEMBERS = "manage the project's members"
    DELETE_PROJECT = "delete the project"


INSTALLATION_ACTIONS = frozenset(
    {Action.PUBLIC, Action.OWN_ACCOUNT, Action.SIGNED_IN, Action.CREATE_PROJECT, Action.MANAGE_USERS}
)

_MEMBER = {Action.READ_PROJECT, Action.LABEL, Action.COMMENT}
_EXPERT = _MEMBER | {
    Action.SET_GOLD,
    Action.BULK_LABEL,
    Action.READ_ALL_LABELS,
    Action.READ_HEURISTICS,
    Action.BROWSE_DATA,
    Action.EXPORT,
}
_ENGINEER = _EXPERT | {Action.EDIT_PROJECT, Action.RUN_CODE, Action.ASSIGN_WORK}
ROLE_ACTIONS: dict[UserRole, frozenset[Action]] = {
    OWNER: frozenset(_ENGINEER | {Action.MANAGE_MEMBERS, Action.DELETE_PROJECT}),
    ENGINEER: frozenset(_ENGINEER),
    EXPERT: frozenset(_EXPERT),
    # an annotator only on the records of work assigned to them (see the module's docstring)
    ANNOTATOR: frozenset(_MEMBER),
}

# installation roles (User.role) that may create projects; ADMIN may do everything
PROJECT_CREATORS = frozenset({UserRole.ADMIN, UserRole.ENGINEER, UserRole.OWNER})

# job kinds (and websocket job events) that show heuristics or weak supervision
_JOB_ACTIONS: dict[str, Action] = {
    "heuristic_run": Action.READ_HEURISTICS,
    "heuristic_statistics": Action.READ_HEURISTICS,
    "weak_supervision": Action.READ_HEURISTICS,
    "zero_shot": Action.READ_HEURISTICS,
    "attribute_calculation": Action.EDIT_PROJECT,
    "snapshot_import": Action.EDIT_PROJECT,
}


# what an annotator may also see on a record of an assignment whose bias guard is off
UNGUARDED_ACTIONS = frozenset({Action.READ_ALL_LABELS, Action.READ_HEURISTICS})


@dataclass
class Permit:
    """The caller of one request: their user, the path's project and their role in it (None outside a project).

    ``unguarded`` is set by the policy check of a record route when the caller is an annotator and the path's record
    belongs to an assignment of theirs with the bias guard off."""

    user: User
    project: Project | None = None
    role: UserRole | None = None
    unguarded: bool = False

    def can(self, action: Action) -> bool:
        """Whether the caller may perform ``action`` (in the path's project for a project action)."""
        if self.unguarded and action in UNGUARDED_ACTIONS:
            return True
        return allowed(self.user, self.role, action)

    def require(self, action: Action) -> None:
        """403 naming the role and the action unless the caller may perform it."""
        if not self.can(action):
            raise problem(403, refusal(self.user, self.role, action))

    @property
    def project_id(self) -> uuid.UUID:
        assert self.project is not None, "a project action's permit has the project"
        return self.project.id


def allowed(user: User, role: UserRole | None, action: Action) -> bool:
    """The rule table: may ``user`` (with ``role`` in the project at hand) perform ``action``?"""
    if user.role == UserRole.ADMIN:
        return True
    if action in (Action.PUBLIC, Action.OWN_ACCOUNT, Action.SIGNED_IN):
        return True
    if action == Action.CREATE_PROJECT:
        return user.role in PROJECT_CREATORS
    if action == Action.MANAGE_USERS:
        return False
    return role is not None and action in ROLE_ACTIONS.get(role, frozenset())


def refusal(user: User, role: UserRole | None, action: Action) -> str:
    """The 403 message: who the caller is, what they may not do, whom to ask."""
    if action in INSTALLATION_ACTIONS:
        return f"a user with the role {user.role.value} may not {action.value}; ask the installation's admin"
    return f"your role {role.value if role else 'none'} in this project may not {action.value}; ask the project's owner"


def may_see_job(user: User, role: UserRole | None, kind: str) -> bool:
    """Whether a member with ``role`` may see a job of ``kind`` (and its websocket events): e.g. an annotator sees no
    heuristic run or weak supervision."""
    return allowed(user, role, _JOB_ACTIONS.get(kind, Action.READ_PROJECT))


def _check_request(request: Request, user: User, action: Action) -> None:
    if getattr(request.state, "read_only_token", False) and request.method not in SAFE_METHODS:
        raise problem(403, f"this API token is read-only: it may only GET or HEAD, not {request.method}")
    if user.password_change_required and action != Action.OWN_ACCOUNT:
        raise problem(403, "change your one-time password first: POST /api/v1/auth/password")


def _public(request: Request) -> None:
    return None


def _installation(action: Action) -> Callable[..., Permit]:
    def check(request: Request, user: CurrentUser) -> Permit:
        _check_request(request, user, action)
        permit = Permit(user=user)
        permit.require(action)
        return permit

    return check


def project_permit(found: MemberRoleDep, user: CurrentUser) -> Permit:
    """The caller's permit in the path's project (404 for a non-member); checks no action."""
    project, role = found
    return Permit(user=user, project=project, role=role)


ProjectPermit = Annotated[Permit, Depends(project_permit)]


def _project(action: Action) -> Callable[..., Permit]:
    def check(request: Request, permit: ProjectPermit, session: SessionDep) -> Permit:
        _check_request(request, permit.user, action)
        permit.require(action)
        _scope_record(request, permit, session)
        return permit

    return check


def _scope_record(request: Request, permit: Permit, session: Session) -> None:
    """An annotator's record scope: 404 for a record outside their assignments (named by the path's ``record_id`` or
    a ``target_type=RECORD`` query's ``target_id``); marks the permit unguarded where an assignment's guard is off."""
    if permit.role != ANNOTATOR or permit.user.role == UserRole.ADMIN:
        return
    raw = request.path_params.get("record_id")
    if raw is None and request.query_params.get("target_type", "").upper() == "RECORD":
        raw = request.query_params.get("target_id")
    if raw is None:
        return
    try:
        record_id = int(raw)
    except ValueError:
        return  # the route's own validation answers 422
    access = assignments.record_access(session, permit.project_id, permit.user.id, record_id)
    if access is None:
        raise problem(404, f"record {record_id} does not exist in this project")
    permit.unguarded = access


def record_scope(permit: Permit) -> ColumnElement[bool]:
    """A condition on ``Record.id`` keeping the records the caller may reach: an annotator's assigned ones, all for
    the other roles (list routes use it; routes naming one record are scoped by the policy check)."""
    if permit.role != ANNOTATOR or permit.user.role == UserRole.ADMIN:
        return true()
    return Record.id.in_(assignments.assigned_records(permit.project_id, permit.user.id))


def scoped_record_ids(permit: Permit) -> Select[int] | None:
    """The ids of the records the caller may reach as a subquery, or None when they reach every record (for routes
    that filter rows naming a record, e.g. comments listed without a target)."""
    if permit.role != ANNOTATOR or permit.user.role == UserRole.ADMIN:
        return None
    return assignments.assigned_records(permit.project_id, permit.user.id)


def visible_records(
    session: Session, user: User, role: UserRole | None, project_id: uuid.UUID, record_ids: list[int] | None
) -> list[int] | None:
    """Of an event about ``record_ids`` (None: many records), the ones a member with ``role`` may hear of: None for
    all of them (every role but an annotator), else the ids among the annotator's assigned records (an event about
    "many records" tells an annotator nothing: [])."""
    if role != ANNOTATOR or user.role == UserRole.ADMIN:
        return None
    if not record_ids:
        return []
    wanted = [int(x) for x in record_ids]
    assigned = assignments.assigned_records(project_id, user.id).where(WorkAssignmentItem.record_id.in_(wanted))
    return sorted(set(session.scalars(assigned)))


def may_reach_record(session: Session, permit: Permit, record_id: int) -> bool:
    """Whether the caller may reach the record (for a record named in a request body; 404 it otherwise)."""
    if permit.role != ANNOTATOR or permit.user.role == UserRole.ADMIN:
        return True
    return assignments.record_access(session, permit.project_id, permit.user.id, record_id) is not None


_CHECKS: dict[Action, Callable[..., Any]] = {}


def allow(action: Action) -> Any:
    """The dependency that lets a route's caller through if they may perform ``action`` (a :class:`Permit` as its
    value; ``None`` for a public route). Use it in ``dependencies=[...]`` or as a parameter's ``Depends``."""
    if action not in _CHECKS:
        if action == Action.PUBLIC:
            check: Callable[..., Any] = _public
        elif action in INSTALLATION_ACTIONS:
            check = _installation(action)
        else:
            check = _project(action)
        check.__name__ = f"allow_{action.name.lower()}"
        check.policy_action = action  # type: ignore[attr-defined]  # read by route_action()
        _CHECKS[action] = check
    return Depends(_CHECKS[action])


def route_action(dependant: Any) -> Action | None:
    """The action a route declared with :func:`allow` (searching its dependency tree), or None."""
    stack = [dependant]
    while stack:
        current = stack.pop()
        action: Action | None = getattr(current.call, "policy_action", None)
        if action is not None:
            return action
        stack.extend(current.dependencies)
    return None


def who(action: Action) -> str:
    """Who may perform ``action``, in words (the OpenAPI ``x-policy`` and docs/api.md's "who" column)."""
    if action == Action.PUBLIC:
        return "anyone"
    if action in (Action.OWN_ACCOUNT, Action.SIGNED_IN):
        return "signed-in users"
    if action == Action.CREATE_PROJECT:
        return "ADMIN, ENGINEER users"
    if action == Action.MANAGE_USERS:
        return "ADMIN"
    return ", ".join(role.value for role in PROJECT_ROLES if action in ROLE_ACTIONS[role])


def annotate_openapi(routes: Iterable[Any]) -> None:
    """Write each route's policy into its OpenAPI operation as ``x-policy`` (``action`` and ``who``)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            annotate_openapi(inner.routes)
        dependant = getattr(route, "dependant", None)
        action = route_action(dependant) if dependant is not None else None
        if action is not None and hasattr(route, "openapi_extra"):
            route.openapi_extra = {**(route.openapi_extra or {}), "x-policy": {"action": action.name, "who": who(action)}}


def project_role(session: Session, user: User, project_id: uuid.UUID) -> UserRole:
    """The user's role in a project (OWNER for the admin); 404 for a non-member."""
    return member_role(session, user, project_id)[1]
