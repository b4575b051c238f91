"""The tokenizer service's app factory."""

from __future__ import annotations

from fastapi import FastAPI

from shared_model.jobs import JobWorker
from shared_model.service import create_service_app

from . import __version__
from .jobs import HANDLERS
from .routers import api


def create_app() -> FastAPI:
    """Build the tokenizer service: its internal API and the ``tokenize_project`` job worker."""
    return create_service_app(
        service="tokenizer", version=__version__, routers=[api.router], workers=[JobWorker("tokenizer", HANDLERS, poll_s=0.5)]
    )
