"""Bounded lock waits of a heuristic run: no thread of a run waits forever on another transaction (e.g. one that
deletes the heuristic); progress and logs skip a report, a result stream fails its run with the reason.

The timeouts are read from this module at each use (tests shorten them).
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

REPORT_LOCK_TIMEOUT_S = 3.0
STREAM_LOCK_TIMEOUT_S = 20.0
JOIN_TIMEOUT_S = 10.0  # beyond the lock timeout, how long a thread that makes no progress is waited for
LOCK_NOT_AVAILABLE = "55P03"


def bound_lock_waits(session: Session, seconds: float) -> None:
    """Make the session's transaction fail (SQLSTATE 55P03) rather than wait longer than ``seconds`` for a lock."""
    session.execute(text(f"SET LOCAL lock_timeout = '{int(seconds * 1000)}ms'"))


def lock_timeout(exc: BaseException) -> bool:
    """Whether ``exc`` (psycopg2's or SQLAlchemy's) is a statement that gave up waiting for a lock."""
    return LOCK_NOT_AVAILABLE in (getattr(exc, "pgcode", None), getattr(getattr(exc, "orig", None), "pgcode", None))


def locked_reason(seconds: float) -> str:
    return (
        f"the results were locked by another transaction for more than {seconds:g} s"
        " (is the heuristic, its labeling task, a label or a record being deleted?)"
    )
