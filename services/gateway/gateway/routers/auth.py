"""Login, logout, the current user, personal API tokens and (for admins) users."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Request, Response
from sqlalchemy import func, select

from shared_model.models import ApiToken, User, UserRole
from shared_model.service import problem
from shared_model.settings import get_settings

from ..deps import SESSION_COOKIE, CurrentUser, SessionDep
from ..domain.login_throttle import account_key, check_login_allowed, clear_account, record_failure
from ..domain.users import authenticate, close_session, open_session
from ..schemas import LoginIn, TokenCreate, TokenCreated, TokenOut, UserCreate, UserOut
from ..security import TOKEN_PREFIX, digest, hash_password, new_secret

router = APIRouter(prefix="/api/v1", tags=["auth"])


@router.post("/auth/login", response_model=UserOut, responses={429: {"description": "Too many failed logins"}})
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


@router.post("/auth/logout", status_code=204)
def logout(request: Request, response: Response, session: SessionDep) -> Response:
    """End the browser session."""
    secret = request.cookies.get(SESSION_COOKIE)
    if secret:
        close_session(session, secret)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.status_code = 204
    return response


@router.get("/auth/me", response_model=UserOut)
def me(user: CurrentUser) -> User:
    """The authenticated user."""
    return user


@router.post("/tokens", response_model=TokenCreated, status_code=201)
def create_token(body: TokenCreate, user: CurrentUser, session: SessionDep) -> TokenCreated:
    """Create a personal API token; its secret is returned only in this response."""
    secret = new_secret(TOKEN_PREFIX)
    expires = datetime.now(UTC) + timedelta(days=body.expires_in_days) if body.expires_in_days else None
    token = ApiToken(user_id=user.id, name=body.name, prefix=secret[:10], token_hash=digest(secret), expires_at=expires)
    session.add(token)
    session.flush()
    session.refresh(token)
    return TokenCreated.model_validate({**TokenOut.model_validate(token).model_dump(), "token": secret})


@router.get("/tokens", response_model=list[TokenOut])
def list_tokens(user: CurrentUser, session: SessionDep) -> list[ApiToken]:
    """The current user's tokens (never their secrets)."""
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.created_at)))


@router.delete("/tokens/{token_id}", status_code=204)
def revoke_token(token_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> Response:
    """Revoke one of the current user's tokens."""
    token = session.scalar(select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user.id))
    if token is None:
        raise problem(404, f"token {token_id} does not exist")
    token.revoked_at = token.revoked_at or datetime.now(UTC)
    return Response(status_code=204)


@router.post("/users", response_model=UserOut, status_code=201)
def create_user(body: UserCreate, user: CurrentUser, session: SessionDep) -> User:
    """Create a user (admins only)."""
    if user.role != UserRole.ADMIN:
        raise problem(403, "only an admin can create users")
    if session.scalar(select(func.count()).select_from(User).where(func.lower(User.email) == body.email.lower())):
        raise problem(409, f"a user with email {body.email!r} already exists")
    created = User(
        email=body.email, display_name=body.display_name, password_hash=hash_password(body.password), role=UserRole(body.role)
    )
    session.add(created)
    session.flush()
    session.refresh(created)
    return created


@router.get("/users", response_model=list[UserOut])
def list_users(user: CurrentUser, session: SessionDep) -> list[User]:
    """All users (admins only)."""
    if user.role != UserRole.ADMIN:
        raise problem(403, "only an admin can list users")
    return list(session.scalars(select(User).order_by(User.created_at)))
