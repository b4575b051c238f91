"""Scaffolding every service shares: app factory, health, problem errors, structured logs, uvicorn runner, the HTTP
client between services and the service secret."""

from .app import create_service_app, serve
from .client import ServiceClient, call_service
from .errors import ProblemError, problem
from .logging import configure_logging
from .secret import SERVICE_SECRET_HEADER, service_headers, service_secret

__all__ = [
    "SERVICE_SECRET_HEADER",
    "ProblemError",
    "ServiceClient",
    "call_service",
    "configure_logging",
    "create_service_app",
    "problem",
    "serve",
    "service_headers",
    "service_secret",
]
