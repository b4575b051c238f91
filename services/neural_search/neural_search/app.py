"""The neural_search service's app factory."""

from __future__ import annotations

from fastapi import FastAPI

from shared_model.service import create_service_app

from . import __version__
from .domain import registry
from .routers import search


def create_app() -> FastAPI:
    """Build the neural_search service."""
    return create_service_app(
        service="neural_search",
        version=__version__,
        routers=[search.router],
        workers=[],
        on_shutdown=lambda app: registry.close_all(),
    )
