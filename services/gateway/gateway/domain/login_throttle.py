"""Login throttling: too many failed logins for one account, or from one client address, answer 429.

Failures are rows of ``login_failure`` in PostgreSQL, so every gateway process counts the same ones. A login first
takes a transaction-level advisory lock on its account, so that parallel guesses at one account cannot slip past its
count (the address is not locked: logins of many users behind one proxy are not serialized; parallel attempts from
one address may pass its limit by as many as run at once). A login is refused while
``login_max_failures_per_account`` failures of the account, or ``login_max_failures_per_address`` of the address, lie
within the last ``login_failure_window_s`` seconds, with ``Retry-After`` saying when the oldest of them leaves the
window. A refused attempt is not checked and not counted, so the rows of an account or address stay bounded. A
successful login clears its account's failures; the address's failures stay (a guesser cannot reset them by logging
into an account of their own), and other accounts are not affected by one account's throttle.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException

from shared_model.models import LoginFailure
from shared_model.settings import get_settings

# First half of the advisory lock key (a constant naming this use); the second is the hash of the account.
LOCK_CLASS_ACCOUNT = 5_104_001


def account_key(email: str) -> str:
    """The account a login names, as counted: its email, trimmed and lower-cased."""
    return email.strip().lower()[:320]


def _lock(session: Session, lock_class: int, value: str) -> None:
    session.execute(text("SELECT pg_advisory_xact_lock(:c, hashtext(:v))"), {"c": lock_class, "v": value})


def _retry_after(times: list[datetime], limit: int, now: datetime, window_s: int) -> int | None:
    """Seconds until fewer than ``limit`` of the failures at ``times`` lie in the window; None when they already do."""
    if len(times) < limit:
        return None
    ordered = sorted(times)
    leaving = ordered[len(ordered) - limit]  # when this one leaves the window, limit - 1 remain
    return max(1, math.ceil(window_s - (now - leaving).total_seconds()))


def check_login_allowed(session: Session, account: str, address: str) -> None:
    """Lock the account for this transaction; 429 with ``Retry-After`` when either is throttled."""
    settings = get_settings()
    window = settings.login_failure_window_s
    _lock(session, LOCK_CLASS_ACCOUNT, account)
    now = session.scalar(select(func.now()))
    assert now is not None
    since = func.now() - timedelta(seconds=window)
    by_account = list(
        session.scalars(select(LoginFailure.created_at).where(LoginFailure.account == account, LoginFailure.created_at > since))
    )
    by_address = list(
        session.scalars(select(LoginFailure.created_at).where(LoginFailure.address == address, LoginFailure.created_at > since))
    )
    minutes = f"{window / 60:g} min" if window % 60 == 0 else f"{window} s"
    waits = []
    account_wait = _retry_after(by_account, settings.login_max_failures_per_account, now, window)
    if account_wait is not None:
        waits.append((account_wait, f"{len(by_account)} failed logins for this account within {minutes}"))
    address_wait = _retry_after(by_address, settings.login_max_failures_per_address, now, window)
    if address_wait is not None:
        waits.append((address_wait, f"{len(by_address)} failed logins from your address {address} within {minutes}"))
    if waits:
        wait, reason = max(waits)
        raise HTTPException(429, f"too many failed logins ({reason}): try again in {wait} s", headers={"Retry-After": str(wait)})


def record_failure(session: Session, account: str, address: str) -> None:
    """Count one failed login (and drop the failures that have left the window)."""
    window = get_settings().login_failure_window_s
    session.execute(delete(LoginFailure).where(LoginFailure.created_at <= func.now() - timedelta(seconds=window)))
    session.add(LoginFailure(account=account, address=address))
    session.flush()


def clear_account(session: Session, account: str) -> None:
    """A successful login: the account's failures are forgotten."""
    session.execute(delete(LoginFailure).where(LoginFailure.account == account))
