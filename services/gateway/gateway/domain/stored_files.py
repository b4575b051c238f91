"""Files that uploads and snapshot imports store for their job under ``data_dir/uploads``, and their removal.

A job removes its file when it ends; a job cancelled before it started never runs, so the cancel removes it, and
files that no queued or running job names any more (a crash, a killed gateway) are swept at the gateway's start.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from sqlalchemy import select

from shared_model.db import session_scope
from shared_model.models import Job, JobState
from shared_model.settings import get_settings

log = logging.getLogger("gateway.stored_files")

KINDS = ("upload", "snapshot_import")  # the jobs whose ``parameters["path"]`` is a stored file
SWEEP_AFTER_S = 3600.0  # a file no live job names is removed once it is this old (an upload may still be arriving)


def uploads_dir() -> Path:
    return get_settings().data_dir / "uploads"


def stored_file(job: Job) -> Path | None:
    """The file a job of :data:`KINDS` stored in the uploads folder (None for other jobs or paths elsewhere)."""
    if job.kind not in KINDS or not isinstance(job.parameters, dict):
        return None
    raw = job.parameters.get("path")
    if not isinstance(raw, str):
        return None
    path = Path(raw)
    folder = uploads_dir().resolve()
    return path if path.resolve().parent == folder else None


def sweep(max_age_s: float = SWEEP_AFTER_S) -> list[Path]:
    """Remove files of the uploads folder that no queued or running job names and that are older than
    ``max_age_s``; returns them."""
    folder = uploads_dir()
    if not folder.is_dir():
        return []
    with session_scope() as session:
        live = session.scalars(select(Job).where(Job.kind.in_(KINDS), Job.state.in_((JobState.QUEUED, JobState.RUNNING))))
        named = {path.resolve() for job in live if (path := stored_file(job)) is not None}
    cutoff = time.time() - max_age_s
    removed = []
    for path in folder.iterdir():
        try:
            if path.is_file() and path.resolve() not in named and path.stat().st_mtime < cutoff:
                path.unlink()
                removed.append(path)
        except OSError:  # gone meanwhile, or not ours to remove: the next sweep tries again
            continue
    if removed:
        log.warning("removed stored upload files that no job needs any more", extra={"files": len(removed)})
    return removed
