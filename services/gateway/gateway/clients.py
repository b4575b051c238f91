"""HTTP clients of the internal services (the gateway never imports their code)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from shared_model.service import problem
from shared_model.settings import SERVICE_NAMES, get_settings

INTERNAL_SERVICES = tuple(name for name in SERVICE_NAMES if name != "gateway")


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
            headers = {"Retry-After": response.headers["Retry-After"]} if "Retry-After" in response.headers else None
            raise problem(
                response.status_code if response.status_code < 500 else 502, f"{self.service}: {detail}", headers=headers
            )
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
