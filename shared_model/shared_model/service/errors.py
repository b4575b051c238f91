"""Errors as RFC 9457 problem responses (``application/problem+json``) with a clear message."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

PROBLEM_TYPE = "application/problem+json"


class ProblemError(Exception):
    """An error the API reports to its caller: an HTTP status, a short title and a detail naming what is wrong."""

    def __init__(
        self, status: int, detail: str, *, title: str | None = None, headers: dict[str, str] | None = None, **extra: Any
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.title = title or _TITLES.get(status, "Error")
        self.headers = headers or {}  # response headers, e.g. Retry-After of a 429
        self.extra = extra


_TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    429: "Too many requests",
    502: "Bad gateway",
    503: "Service unavailable",
}


def problem(status: int, detail: str, *, headers: dict[str, str] | None = None, **extra: Any) -> ProblemError:
    """Shorthand to build a :class:`ProblemError` (``raise problem(404, "project … does not exist")``)."""
    return ProblemError(status, detail, headers=headers, **extra)


def problem_response(status: int, title: str, detail: str, instance: str, **extra: Any) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, "instance": instance, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_TYPE)


def install_problem_handlers(app: FastAPI) -> None:
    """Make every error of ``app`` a problem response."""

    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError) -> JSONResponse:
        response = problem_response(exc.status, exc.title, exc.detail, request.url.path, **exc.extra)
        response.headers.update(exc.headers)
        return response

    @app.exception_handler(HTTPException)  # Starlette's: also the router's own 404 and 405
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"there is no route {request.url.path}"
        elif exc.status_code == 405 and detail == "Method Not Allowed":
            detail = f"{request.method} is not allowed on {request.url.path}"
        response = problem_response(exc.status_code, _TITLES.get(exc.status_code, "Error"), detail, request.url.path)
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"location": ".".join(str(part) for part in err.get("loc", ())), "message": err.get("msg", "")}
            for err in exc.errors()
        ]
        detail = "; ".join(f"{e['location']}: {e['message']}" for e in errors) or "invalid request"
        return problem_response(422, "Invalid request", detail, request.url.path, errors=errors)
