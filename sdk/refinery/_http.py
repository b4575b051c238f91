"""HTTP transport: one httpx client per SDK client, authentication, and server errors turned into exceptions."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from .exceptions import AuthenticationError, RefineryError, ServerUnreachableError, error_for_status

API = "/api/v1"


def _detail(response: httpx.Response) -> tuple[str, dict[str, Any]]:
    """The problem detail of an error response (RFC 9457 ``detail``), else a short summary of the body."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        text = response.text.strip().splitlines()
        return (text[0][:300] if text else f"HTTP {response.status_code} {response.reason_phrase}"), {}
    if isinstance(body, dict):
        detail = body.get("detail") or body.get("title") or body.get("message")
        if isinstance(detail, list):  # a plain FastAPI validation error
            detail = "; ".join(str(item.get("msg", item)) if isinstance(item, dict) else str(item) for item in detail)
        return str(detail or f"HTTP {response.status_code} {response.reason_phrase}"), body
    return f"HTTP {response.status_code} {response.reason_phrase}", {}


class Transport:
    """Sends requests to ``{uri}/api/v1``; authenticates with an API token (Bearer) or a login session cookie."""

    def __init__(
        self,
        uri: str,
        *,
        api_token: str | None = None,
        user_name: str | None = None,
        password: str | None = None,
        timeout: float = 60.0,
    ) -> None:
        self.uri = uri.rstrip("/")
        self._user_name = user_name
        self._password = password
        headers = {"User-Agent": "refinery-sdk"}
        if api_token:
            headers["Authorization"] = f"Bearer {api_token}"
        self.http = httpx.Client(base_url=self.uri, headers=headers, timeout=httpx.Timeout(timeout, connect=10.0))
        self.uses_token = bool(api_token)

    def close(self) -> None:
        self.http.close()

    def login(self) -> dict[str, Any]:
        """Log in with user name (email) and password; the session cookie is kept for later requests."""
        if not self._user_name or self._password is None:
            raise AuthenticationError("no credentials: give user_name and password, or an api_token")
        response = self._send("POST", f"{API}/auth/login", json={"email": self._user_name, "password": self._password})
        if response.status_code == 401:
            reason = _detail(response)[0]
            raise AuthenticationError(f"could not log in at {self.uri} as {self._user_name!r}: {reason}", status=401)
        return self._checked(response)

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self.http.request(method, path, **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise ServerUnreachableError(f"cannot reach refinery at {self.uri}: {exc or type(exc).__name__}") from None
        except httpx.TimeoutException as exc:
            raise ServerUnreachableError(f"refinery at {self.uri} did not answer in time ({type(exc).__name__})") from None
        except httpx.TransportError as exc:
            raise ServerUnreachableError(f"connection to refinery at {self.uri} failed: {exc}") from None

    def _checked(self, response: httpx.Response) -> Any:
        if response.status_code >= 400:
            detail, body = _detail(response)
            raise error_for_status(response.status_code, detail, body)
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise RefineryError(
                f"{self.uri} answered {response.request.method} {response.request.url.path} with something that is not JSON;"
                " is this a refinery server?"
            ) from None

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send ``method`` to ``/api/v1{path}``; the decoded JSON, or a :class:`RefineryError` with the server's detail.

        A cookie session that expired is renewed once by logging in again.
        """
        response = self._send(method, f"{API}{path}", **kwargs)
        if response.status_code == 401 and not self.uses_token and self._user_name:
            self.login()
            response = self._send(method, f"{API}{path}", **kwargs)
        return self._checked(response)

    @contextmanager
    def stream(self, method: str, path: str, **kwargs: Any) -> Iterator[httpx.Response]:
        """A streamed response (errors raised before the body is read)."""
        try:
            with self.http.stream(method, f"{API}{path}", **kwargs) as response:
                if response.status_code >= 400:
                    response.read()
                    detail, body = _detail(response)
                    raise error_for_status(response.status_code, detail, body)
                yield response
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise ServerUnreachableError(f"cannot reach refinery at {self.uri}: {exc or type(exc).__name__}") from None
        except httpx.TransportError as exc:
            raise ServerUnreachableError(f"connection to refinery at {self.uri} failed: {exc}") from None
