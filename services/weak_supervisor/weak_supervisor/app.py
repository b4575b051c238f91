"""The weak_supervisor service's app factory."""

from __future__ import annotations

from fastapi import FastAPI
from shared_model.service import create_service_app

from . import __version__


def create_app() -> FastAPI:
    """Build the weak_supervisor service."""
    return create_service_app(service="weak_supervisor", version=__version__, routers=[], workers=[])
