"""Login, logout, the current user, personal API tokens and (for admins) users."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Request, Response
from sqlalchemy import delete, func, select

from shared_model.models import ApiToken, User, UserRole, UserSession
from shared_model.service import problem
from shared_model.settings import get_settings

from ..deps import SESSION_COOKIE, CurrentUser, SessionDep
from ..domain.login_throttle import account_key, check_login_allowed, clear_account, record_failure
from ..domain.users import authenticate, close_session, open_session
from ..policies import Action, Permit, allow
from ..schemas import (
    InvitationAccept,
    LoginIn,
    PasswordChange,
    PasswordReset,
    TokenCreate,
    TokenCreated,
    TokenOut,
    UserCreate,
    UserCreated,
    UserOut,
    UserUpdate,
)
from ..security import TOKEN_PREFIX, digest, generate_password, hash_password, new_secret, verify_password

router = APIRouter(prefix="/api/v1", tags=["auth"])
INVITATION_DAYS = 7


@router.post(
    "/auth/login",
    response_model=UserOut,
    responses={429: {"description": "Too many failed logins"}},
    dependencies=[allow(Action.PUBLIC)],
)
def login(body: LoginIn, request: Request, response: Response, session: SessionDep) -> User:
    """Check the password and set an HTTP-only session cookie. Too many failed logins for the account or from the
    client address answer 429 with ``Retry-After`` (settings ``login_max_failures_per_*``)."""
    account = account_key(body.email)
    address = (request.client.host if request.client else "unknown")[:64]
    check_login_allowed(session, account, address)
    user = authenticate(session, body.email, body.password)
    if user is None:
        record_failure(session, account, address)
        session.commit()  # the failure counts although this request answers an error (which rolls back)
        raise problem(401, "wrong email or password")
    clear_account(session, account)
    secret = open_session(session, user)
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        httponly=True,
        samesite="lax",
        secure=get_settings().cookie_secure,
        max_age=get_settings().session_ttl_hours * 3600,
        path="/",
    )
    return user


@router.post("/auth/logout", status_code=204, dependencies=[allow(Action.PUBLIC)])
def logout(request: Request, response: Response, session: SessionDep) -> Response:
    """End the browser session."""
    secret = request.cookies.get(SESSION_COOKIE)
    if secret:
        close_session(session, secret)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.status_code = 204
    return response


@router.get("/auth/me", response_model=UserOut, dependencies=[allow(Action.OWN_ACCOUNT)])
def me(user: CurrentUser) -> User:
    """The authenticated user."""
    return user


@router.post("/tokens", response_model=TokenCreated, status_code=201, dependencies=[allow(Action.SIGNED_IN)])
def create_token(body: TokenCreate, user: CurrentUser, session: SessionDep) -> TokenCreated:
    """Create a personal API token; its secret is returned only in this response."""
    secret = new_secret(TOKEN_PREFIX)
    expires = datetime.now(UTC) + timedelta(days=body.expires_in_days) if body.expires_in_days else None
    token = ApiToken(
        user_id=user.id,
        name=body.name,
        prefix=secret[:10],
        token_hash=digest(secret),
        expires_at=expires,
        read_only=body.read_only,
    )
    session.add(token)
    session.flush()
    session.refresh(token)
    return TokenCreated.model_validate({**TokenOut.model_validate(token).model_dump(), "token": secret})


@router.get("/tokens", response_model=list[TokenOut], dependencies=[allow(Action.SIGNED_IN)])
def list_tokens(user: CurrentUser, session: SessionDep) -> list[ApiToken]:
    """The current user's tokens (never their secrets)."""
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.created_at)))


@router.delete("/tokens/{token_id}", status_code=204, dependencies=[allow(Action.SIGNED_IN)])
def revoke_token(token_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> Response:
    """Revoke one of the current user's tokens."""
    token = session.scalar(select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user.id))
    if token is None:
        raise problem(404, f"token {token_id} does not exist")
    token.revoked_at = token.revoked_at or datetime.now(UTC)
    return Response(status_code=204)


@router.post("/auth/password", response_model=UserOut)
def change_password(body: PasswordChange, permit: Annotated[Permit, allow(Action.OWN_ACCOUNT)], session: SessionDep) -> User:
    """Change one's own password (the only thing a user with a one-time password may do first)."""
    user = permit.user
    if not verify_password(user.password_hash, body.current_password):
        raise problem(403, "current_password is wrong")
    user.password_hash = hash_password(body.new_password)
    user.password_change_required = False
    return user


@router.post("/auth/invitation", response_model=UserOut, dependencies=[allow(Action.PUBLIC)])
def accept_invitation(body: InvitationAccept, session: SessionDep) -> User:
    """Accept an invitation: set the password (and display name); then log in as usual. 404 for an unknown, used
    or expired invitation."""
    user = session.scalar(select(User).where(User.invitation_hash == digest(body.token)).with_for_update())
    expires = user.invitation_expires_at if user is not None else None
    if user is None or expires is None or expires <= datetime.now(UTC) or not user.is_active:
        raise problem(404, "this invitation is unknown, used or expired; ask the admin for a new one")
    user.password_hash = hash_password(body.password)
    user.invitation_hash = None
    user.invitation_expires_at = None
    user.password_change_required = False
    if body.display_name is not None:
        user.display_name = body.display_name
    return user


@router.post("/users", response_model=UserCreated, status_code=201, dependencies=[allow(Action.MANAGE_USERS)])
def create_user(body: UserCreate, session: SessionDep) -> UserCreated:
    """Create a user (admins only): with the ``password`` given, or a generated one-time password (answered only now;
    the user must change it first), or an invitation (``invite``: a link valid for 7 days that sets the password)."""
    if body.invite and body.password is not None:
        raise problem(422, "invite: an invitation sets its own password; leave out password")
    if session.scalar(select(func.count()).select_from(User).where(func.lower(User.email) == body.email.lower())):
        raise problem(409, f"a user with email {body.email!r} already exists")
    one_time = generate_password() if body.password is None and not body.invite else None
    invitation = new_secret() if body.invite else None
    created = User(
        email=body.email,
        display_name=body.display_name,
        password_hash=hash_password(body.password or one_time or new_secret()),
        role=UserRole(body.role),
        password_change_required=one_time is not None,
        invitation_hash=digest(invitation) if invitation else None,
        invitation_expires_at=datetime.now(UTC) + timedelta(days=INVITATION_DAYS) if invitation else None,
    )
    session.add(created)
    session.flush()
    session.refresh(created)
    out = UserCreated.model_validate({**UserOut.model_validate(created).model_dump(), "one_time_password": one_time})
    if invitation:
        out.invitation_token = invitation
        out.invitation_url = f"/invitation?token={invitation}"
    return out


@router.get("/users", response_model=list[UserOut], dependencies=[allow(Action.MANAGE_USERS)])
def list_users(session: SessionDep) -> list[User]:
    """All users (admins only)."""
    return list(session.scalars(select(User).order_by(User.created_at)))


def _user(session: SessionDep, user_id: uuid.UUID) -> User:
    found = session.get(User, user_id, with_for_update=True)
    if found is None:
        raise problem(404, f"user {user_id} does not exist")
    return found


@router.patch("/users/{user_id}", response_model=UserOut)
def update_user(
    user_id: uuid.UUID, body: UserUpdate, permit: Annotated[Permit, allow(Action.MANAGE_USERS)], session: SessionDep
) -> User:
    """Rename a user, change their installation role or (de)activate them (admins only). A deactivated user can
    neither log in nor use a token; their open sessions end. The admin cannot demote or deactivate themselves (409)."""
    found = _user(session, user_id)
    if found.id == permit.user.id and (body.is_active is False or (body.role and body.role != UserRole.ADMIN)):
        raise problem(409, "you cannot deactivate or demote yourself; another admin can")
    if body.display_name is not None:
        found.display_name = body.display_name
    if body.role is not None:
        found.role = UserRole(body.role)
    if body.is_active is not None:
        found.is_active = body.is_active
        if not body.is_active:
            session.execute(delete(UserSession).where(UserSession.user_id == found.id))
    return found


@router.post("/users/{user_id}/password-reset", response_model=PasswordReset, dependencies=[allow(Action.MANAGE_USERS)])
def reset_password(user_id: uuid.UUID, session: SessionDep) -> PasswordReset:
    """Give a user a new one-time password (answered only now; they must change it at their next login); their open
    sessions end. Their API tokens stay valid (revoke them with a deactivation)."""
    found = _user(session, user_id)
    password = generate_password()
    found.password_hash = hash_password(password)
    found.password_change_required = True
    session.execute(delete(UserSession).where(UserSession.user_id == found.id))
    return PasswordReset(one_time_password=password)
