"""The tokenizer service's app factory."""

from __future__ import annotations

from fastapi import FastAPI

from shared_model.jobs import JobWorker
from shared_model.service import create_service_app

from . import __version__
from .jobs import HANDLERS
from .routers import api
from .tokenize import prestart_workers
from .warm_workers import warm_workers


def _start(_app: FastAPI) -> None:
    prestart_workers()


def create_app() -> FastAPI:
    """Build the tokenizer service: its internal API, the ``tokenize_project`` job worker and warm worker processes."""
    return create_service_app(
        service="tokenizer",
        version=__version__,
        routers=[api.router],
        workers=[JobWorker("tokenizer", HANDLERS, poll_s=0.5)],
        on_startup=_start,
        on_shutdown=lambda _app: warm_workers.close(),
    )
