"""The one HTTP client for calls between refinery's processes: it finds the service and sends the service secret.

The gateway calls the internal services with :class:`ServiceClient` (async; errors become problem responses); a
service's job that calls another service uses :func:`call_service` (sync). Nobody imports another service's code.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from ..settings import SERVICE_NAMES, get_settings
from .errors import problem
from .secret import service_headers

INTERNAL_SERVICES = tuple(name for name in SERVICE_NAMES if name != "gateway")


def _with_secret(kwargs: dict[str, Any]) -> dict[str, Any]:
    headers = {**dict(kwargs.pop("headers", None) or {}), **service_headers()}
    return {**kwargs, "headers": headers}


def call_service(service: str, method: str, path: str, *, timeout: float | httpx.Timeout = 30.0, **kwargs: Any) -> httpx.Response:
    """One synchronous call to an internal service (``httpx.HTTPError`` when it cannot be reached)."""
    url = f"{get_settings().service_url(service)}{path}"
    return httpx.request(method, url, timeout=timeout, **_with_secret(kwargs))


class ServiceClient:
    """Calls one internal service with a timeout, retrying connection errors (not HTTP errors)."""

    def __init__(self, service: str, *, retries: int = 2, backoff_s: float = 0.2) -> None:
        settings = get_settings()
        self.service = service
        self.base_url = settings.service_url(service)
        self.timeout = httpx.Timeout(settings.service_timeout_s, connect=3.0)
        self.retries = retries
        self.backoff_s = backoff_s

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send a request; a service that cannot be reached becomes a 503 problem naming it."""
        last: Exception | None = None
        kwargs = _with_secret(kwargs)
        async with httpx.AsyncClient(base_url=self.base_url, timeout=self.timeout) as client:
            for attempt in range(self.retries + 1):
                try:
                    return await client.request(method, path, **kwargs)
                except (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError) as exc:
                    last = exc
                    await asyncio.sleep(self.backoff_s * (attempt + 1))
                except httpx.TimeoutException as exc:
                    raise problem(504, f"the {self.service} service did not answer within {self.timeout.read} s") from exc
        raise problem(503, f"the {self.service} service at {self.base_url} is unreachable: {last}")

    async def json(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send a request and return its JSON; a service's error is passed on with its message."""
        response = await self.request(method, path, **kwargs)
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail", response.text)
            except ValueError:
                detail = response.text
            # 503 (the service cannot do this now, e.g. no sandbox) passes through; other server errors are 502.
            status = response.status_code if response.status_code < 500 or response.status_code == 503 else 502
            headers = {"Retry-After": response.headers["Retry-After"]} if "Retry-After" in response.headers else None
            raise problem(status, f"{self.service}: {detail}", headers=headers)
        return response.json()

    async def health(self) -> dict[str, Any]:
        """The service's ``/health``, or a description of why it could not be read."""
        try:
            response = await self.request("GET", "/health")
            body: dict[str, Any] = response.json()
            if response.status_code != 200:
                body.setdefault("status", "unhealthy")
            return body
        except Exception as exc:  # noqa: BLE001 - health aggregation reports, never raises
            detail = getattr(exc, "detail", str(exc))
            return {"service": self.service, "status": "unreachable", "detail": detail}
