"""The service secret: internal services answer only calls that carry it; the gateway and every service send it.

The secret is ``REFINERY_SERVICE_SECRET`` when set (docker compose passes it from the environment or ``.env``), else
the content of ``<data_dir>/service_secret``, generated on first start with file mode 0600. Every process that shares
the data folder therefore shares the secret without any configuration. Internal services check the header
``X-Refinery-Service-Secret`` on every path except ``/health`` (see :class:`RequireServiceSecret`); the public gateway
does not ask browsers for it.
"""

from __future__ import annotations

import hmac
import os
import secrets
from functools import lru_cache
from pathlib import Path

from starlette.types import ASGIApp, Receive, Scope, Send

from ..settings import get_settings
from .errors import problem_response

SERVICE_SECRET_HEADER = "X-Refinery-Service-Secret"
SECRET_FILE_NAME = "service_secret"
OPEN_PATHS = frozenset({"/health"})


def ensure_secret_file(data_dir: Path) -> str:
    """The secret kept in ``data_dir``; created (mode 0600, atomically: concurrent first starts agree) if missing."""
    path = data_dir.expanduser() / SECRET_FILE_NAME
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    candidate = path.with_name(f".{SECRET_FILE_NAME}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(secrets.token_urlsafe(32) + "\n")
    try:
        os.link(candidate, path)  # fails when another process created it first: then theirs is the secret
    except FileExistsError:
        pass
    finally:
        candidate.unlink(missing_ok=True)
    return _read(path)


def _read(path: Path) -> str:
    value = path.read_text().strip()
    if not value:
        raise RuntimeError(f"the service secret file {path} is empty: delete it and restart every service")
    return value


@lru_cache(maxsize=8)
def _resolve(explicit: str, data_dir: str) -> str:
    return explicit or ensure_secret_file(Path(data_dir))


def service_secret() -> str:
    """This installation's service secret (``REFINERY_SERVICE_SECRET``, else the data folder's file)."""
    settings = get_settings()
    return _resolve(settings.service_secret.strip(), str(settings.data_dir))


def service_headers() -> dict[str, str]:
    """Headers that authenticate a call to an internal service."""
    return {SERVICE_SECRET_HEADER: service_secret()}


class RequireServiceSecret:
    """ASGI middleware of the internal services: 401 without the secret, 403 with a wrong one (problem responses)."""

    def __init__(self, app: ASGIApp, secret: str | None = None) -> None:
        self.app = app
        self.secret = (secret or service_secret()).encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope.get("path") in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        header = SERVICE_SECRET_HEADER.lower().encode()
        given = next((value for name, value in scope.get("headers", []) if name == header), None)
        if given is not None and hmac.compare_digest(given, self.secret):
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        if given is None:
            response = problem_response(
                401,
                "Not authenticated",
                f"{path} is internal: calls must carry the {SERVICE_SECRET_HEADER} header (the gateway sends it)",
                path,
            )
        else:
            response = problem_response(
                403, "Forbidden", f"{path} is internal: the {SERVICE_SECRET_HEADER} header does not match", path
            )
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        await response(scope, receive, send)
