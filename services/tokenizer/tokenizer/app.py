"""The tokenizer service's app factory."""

from __future__ import annotations

from fastapi import FastAPI
from shared_model.service import create_service_app

from . import __version__


def create_app() -> FastAPI:
    """Build the tokenizer service."""
    return create_service_app(service="tokenizer", version=__version__, routers=[], workers=[])
