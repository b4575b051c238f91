"""The weak_supervisor service's app factory."""

from __future__ import annotations

from fastapi import FastAPI

from shared_model.jobs import JobWorker
from shared_model.service import create_service_app

from . import __version__
from .jobs import HANDLERS
from .routers import api
from .watcher import ManualLabelWatcher


def create_app(*, watch_manual_labels: bool = True) -> FastAPI:
    """Build the weak_supervisor service: its HTTP API, its job worker and the manual-label watcher."""
    watcher = ManualLabelWatcher()

    def start(app: FastAPI) -> None:
        if watch_manual_labels:
            watcher.start()

    def stop(app: FastAPI) -> None:
        watcher.stop()

    return create_service_app(
        service="weak_supervisor",
        version=__version__,
        routers=[api.router],
        workers=[JobWorker("weak_supervisor", HANDLERS)],
        on_startup=start,
        on_shutdown=stop,
    )
