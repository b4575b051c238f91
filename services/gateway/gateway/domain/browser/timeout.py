"""A statement timeout on the data browser's queries, answered as a 503 problem instead of a hanging request.

:func:`limit` sets ``statement_timeout`` for the rest of the request's transaction (``browser_statement_timeout_ms``;
0 turns it off); :func:`lift` takes it off again before a write that must not be cut short. Routers that run browser
queries use :class:`TimedRoute`, which turns Postgres's ``query_canceled`` (SQLSTATE 57014) into a 503 problem
naming the limit and what to do (narrow the filter, count with ``estimate``), with ``Retry-After``.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from shared_model.service import problem
from shared_model.settings import get_settings

QUERY_CANCELED = "57014"


def timeout_ms() -> int:
    return int(get_settings().browser_statement_timeout_ms)


def limit(session: Session, *, reset: bool = False) -> None:
    """Browser queries of this transaction stop after the configured time (SET LOCAL: the transaction's end resets
    it). ``reset``: also when the limit is off (after a shorter limit was set for one query)."""
    ms = timeout_ms()
    if ms > 0 or reset:
        session.execute(text(f"SET LOCAL statement_timeout = {ms}"))


def lift(session: Session) -> None:
    """No statement timeout for the rest of this transaction (before a bulk write that was confirmed)."""
    session.execute(text("SET LOCAL statement_timeout = 0"))


def is_timeout(exc: BaseException) -> bool:
    return isinstance(exc, DBAPIError) and getattr(exc.orig, "pgcode", None) == QUERY_CANCELED


class TimedRoute(APIRoute):
    """A route whose browser queries may run into the statement timeout: that becomes a 503 problem."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def timed(request: Request) -> Response:
            try:
                return await handler(request)
            except DBAPIError as exc:
                if not is_timeout(exc):
                    raise
                raise problem(
                    503,
                    f"the query ran longer than the data browser's statement timeout ({timeout_ms()} ms) and was "
                    "stopped; narrow the filter, sort by fewer keys, or ask for count 'estimate' or 'auto'",
                    headers={"Retry-After": "10"},
                    timeout_ms=timeout_ms(),
                ) from None

        return timed
