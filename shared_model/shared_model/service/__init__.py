"""Scaffolding every service shares: app factory, health, problem errors, structured logs, uvicorn runner."""

from .app import create_service_app, serve
from .errors import ProblemError, problem
from .logging import configure_logging

__all__ = ["ProblemError", "configure_logging", "create_service_app", "problem", "serve"]
