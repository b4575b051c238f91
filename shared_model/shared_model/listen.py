"""The one Postgres ``LISTEN`` loop: the job workers wait on it for queued jobs, the gateway for job progress."""

from __future__ import annotations

import logging
import select
import threading
from collections.abc import Callable

from .db import raw_connection

log = logging.getLogger("shared_model.listen")


def listen(
    channel: str, on_payload: Callable[[str], None], stop: threading.Event, *, wait_s: float = 1.0, retry_s: float = 2.0
) -> None:
    """Until ``stop`` is set: ``LISTEN channel`` and call ``on_payload`` with each notification's payload, in order.

    Runs in the caller's thread (start it in a daemon thread). A lost connection or a failing callback is logged and the
    loop reconnects after ``retry_s``; ``stop`` is looked at at least every ``wait_s``. ``channel`` is one of ours (a
    constant, never user input): LISTEN takes no bind parameters.
    """
    while not stop.is_set():
        try:
            conn = raw_connection()
            try:
                dbapi = conn.dbapi_connection
                dbapi.set_isolation_level(0)  # autocommit: notifications arrive between transactions only
                with dbapi.cursor() as cursor:
                    cursor.execute(f"LISTEN {channel}")
                while not stop.is_set():
                    if select.select([dbapi], [], [], wait_s) == ([], [], []):
                        continue
                    dbapi.poll()
                    while dbapi.notifies:
                        on_payload(dbapi.notifies.pop(0).payload)
            finally:
                conn.invalidate()  # a LISTENing connection must not go back to the pool
        except Exception:  # noqa: BLE001 - keep listening after a database hiccup
            log.exception("listening on %s failed; retrying", channel)
            stop.wait(retry_s)
