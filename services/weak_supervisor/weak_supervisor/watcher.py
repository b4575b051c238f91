"""Debounced recomputation of heuristic statistics after manual labels change.

Every ``interval_s`` the watcher compares each task's count and newest timestamp of valid manual labels with what it
saw before; a task that changed and then stayed quiet for ``quiet_s`` gets one ``heuristic_statistics`` job (unless
one is already queued).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from shared_model.db import session_scope
from shared_model.jobs import enqueue

log = logging.getLogger("weak_supervisor.watcher")

_CHANGES = text(
    "SELECT r.labeling_task_id, count(*), max(r.created_at) FROM record_label_association r "
    "WHERE r.source_type = 'MANUAL' AND r.is_valid_manual_label "
    "AND EXISTS (SELECT 1 FROM information_source s WHERE s.labeling_task_id = r.labeling_task_id) "
    "GROUP BY r.labeling_task_id"
)

_PROJECT_OF = text("SELECT project_id FROM labeling_task WHERE id = :t")


def enqueue_statistics(task_id: uuid.UUID, project_id: uuid.UUID, source_id: uuid.UUID | None = None) -> uuid.UUID:
    """Queue a statistics job for a task unless one is already queued; returns the job id."""
    with session_scope() as session:
        queued = session.scalar(
            text(
                "SELECT id FROM job WHERE kind = 'heuristic_statistics' AND state = 'queued' "
                "AND parameters->>'labeling_task_id' = :t LIMIT 1"
            ),
            {"t": str(task_id)},
        )
        if queued is not None:
            return uuid.UUID(str(queued))
        params = {"labeling_task_id": str(task_id), "source_id": str(source_id) if source_id else None}
        job = enqueue(
            session, kind="heuristic_statistics", owner_service="weak_supervisor", project_id=project_id, parameters=params
        )
        return job.id


class ManualLabelWatcher:
    """Background thread enqueuing statistics jobs for tasks whose manual labels changed (debounced)."""

    def __init__(self, interval_s: float = 2.0, quiet_s: float = 1.0) -> None:
        self.interval_s = interval_s
        self.quiet_s = quiet_s
        self._seen: dict[uuid.UUID, tuple[int, datetime]] = {}
        self._pending: dict[uuid.UUID, float] = {}  # task -> when its labels last changed
        self._stop = threading.Event()
        self._primed = False

    def check(self) -> list[uuid.UUID]:
        """One pass; returns the tasks for which a job was enqueued."""
        with session_scope() as session:
            current = {row[0]: (int(row[1]), row[2]) for row in session.execute(_CHANGES)}
        now = time.monotonic()
        for task_id, seen in current.items():
            if self._primed and self._seen.get(task_id) != seen:
                self._pending[task_id] = now
            self._seen[task_id] = seen
        for task_id in [t for t in self._seen if t not in current]:
            del self._seen[task_id]  # all manual labels removed: counted as a change
            if self._primed:
                self._pending.setdefault(task_id, now)
        self._primed = True
        fired = []
        for task_id, changed_at in list(self._pending.items()):
            if now - changed_at < self.quiet_s:
                continue
            del self._pending[task_id]
            with session_scope() as session:  # the task's project now (its labels may all be gone), or None: deleted
                found = session.scalar(_PROJECT_OF, {"t": task_id})
            if found is None:
                continue  # the task or its project was deleted meanwhile: nothing to compute
            try:
                enqueue_statistics(task_id, uuid.UUID(str(found)))
            except IntegrityError:  # deleted between the look-up and the insert
                log.info("statistics of task %s not queued: the task or its project was deleted", task_id)
                continue
            fired.append(task_id)
        return fired

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.check()
            except Exception:  # noqa: BLE001 - the watcher must survive a database hiccup
                log.exception("manual-label watcher pass failed")

    def start(self) -> None:
        threading.Thread(target=self._loop, name="manual-label-watcher", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()
