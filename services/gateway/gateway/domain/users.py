"""Users: the first admin, authentication by password, session cookie or API token."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from shared_model.models import ApiToken, User, UserRole, UserSession
from shared_model.settings import get_settings

from ..security import digest, generate_password, hash_password, new_secret, verify_password


def ensure_admin(session: Session) -> tuple[str, str | None]:
    """Create the admin when there is no user yet; return its login and the password if one was just created.

    The password comes from ``REFINERY_ADMIN_PASSWORD`` or is generated (and shown only this once).
    """
    settings = get_settings()
    session.execute(select(func.pg_advisory_xact_lock(724114)))
    if session.scalar(select(func.count()).select_from(User)):
        return settings.admin_email, None
    password = settings.admin_password or os.environ.get("REFINERY_ADMIN_PASSWORD") or generate_password()
    session.add(
        User(email=settings.admin_email, display_name="admin", password_hash=hash_password(password), role=UserRole.ADMIN)
    )
    session.flush()
    return settings.admin_email, password


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active user with that login and password, else None."""
    user = session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is None or not user.is_active or not verify_password(user.password_hash, password):
        return None
    return user


def open_session(session: Session, user: User) -> str:
    """Start a login session for ``user``; return the cookie secret."""
    secret = new_secret()
    expires = datetime.now(UTC) + timedelta(hours=get_settings().session_ttl_hours)
    session.add(UserSession(user_id=user.id, token_hash=digest(secret), expires_at=expires))
    return secret


def close_session(session: Session, secret: str) -> None:
    """End the login session whose cookie is ``secret``."""
    login = session.scalar(select(UserSession).where(UserSession.token_hash == digest(secret)))
    if login is not None:
        session.delete(login)


def user_for_cookie(session: Session, secret: str) -> User | None:
    """The user of an unexpired login session."""
    user = session.scalar(
        select(User)
        .join(UserSession, UserSession.user_id == User.id)
        .where(UserSession.token_hash == digest(secret), UserSession.expires_at > func.now())
    )
    return user if user is not None and user.is_active else None


def caller_for_token(session: Session, secret: str) -> tuple[User, bool] | None:
    """The active user of an unrevoked, unexpired API token and whether the token is read-only (its use noted)."""
    row = session.execute(
        select(User, ApiToken)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(ApiToken.token_hash == digest(secret), ApiToken.revoked_at.is_(None))
    ).first()
    if row is None:
        return None
    user, token = row
    if token.expires_at is not None and token.expires_at <= datetime.now(UTC):
        return None
    session.execute(update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=func.now()))
    return (user, token.read_only) if user.is_active else None
