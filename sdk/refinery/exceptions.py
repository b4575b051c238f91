"""Errors the SDK raises: one class per kind of failure, each carrying the server's ``detail`` message."""

from __future__ import annotations

from typing import Any


class RefineryError(Exception):
    """Base class of every SDK error. ``detail`` is the server's message (or ours), ``status`` the HTTP status."""

    exit_code = 1

    def __init__(self, detail: str, *, status: int | None = None, body: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status
        self.body = body or {}

    def __str__(self) -> str:
        return self.detail


class AuthenticationError(RefineryError):
    """Wrong user name or password, or an unknown, revoked or expired API token (HTTP 401)."""

    exit_code = 3


class PermissionDeniedError(RefineryError):
    """Authenticated, but not allowed to do this (HTTP 403)."""

    exit_code = 3


class NotFoundError(RefineryError):
    """The project, task, heuristic or other object does not exist or is not yours (HTTP 404)."""

    exit_code = 4


class ServerUnreachableError(RefineryError):
    """No refinery answered at the configured URI (connection refused, DNS failure, timeout)."""

    exit_code = 5


class BadRequestError(RefineryError):
    """The server rejected the request's content (HTTP 400, 413, 415, 422)."""

    exit_code = 6


class ConflictError(BadRequestError):
    """The request conflicts with the project's state (HTTP 409), e.g. an upload whose columns differ."""


class JobFailedError(RefineryError):
    """A server-side job (upload, heuristic run, weak supervision) failed or was cancelled; ``job`` is its last state."""

    exit_code = 7

    def __init__(self, detail: str, *, job: dict[str, Any] | None = None) -> None:
        super().__init__(detail, body=job)
        self.job = job or {}


class ServerError(RefineryError):
    """The server failed (HTTP 5xx)."""

    exit_code = 8


class ConfigurationError(RefineryError):
    """Missing or unreadable settings: no secrets file, no project chosen, no credentials."""

    exit_code = 9


def error_for_status(status: int, detail: str, body: dict[str, Any] | None = None) -> RefineryError:
    """The exception class for an HTTP error status, carrying the server's detail."""
    kinds: dict[int, type[RefineryError]] = {
        401: AuthenticationError,
        403: PermissionDeniedError,
        404: NotFoundError,
        409: ConflictError,
    }
    if status in kinds:
        cls = kinds[status]
    elif status >= 500:
        cls = ServerError
    else:
        cls = BadRequestError
    return cls(detail, status=status, body=body)
