"""The embedder service's app factory."""

from __future__ import annotations

from fastapi import FastAPI

from shared_model.jobs import JobWorker
from shared_model.service import create_service_app

from . import __version__
from .jobs import HANDLERS
from .routers import api


def create_app() -> FastAPI:
    """Build the embedder service (its job worker runs ``embed`` and ``zero_shot`` jobs)."""
    return create_service_app(
        service="embedder", version=__version__, routers=[api.router], workers=[JobWorker("embedder", HANDLERS)]
    )
