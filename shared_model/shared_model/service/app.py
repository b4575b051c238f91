"""The app factory and runner that give every service the same shape."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from fastapi import APIRouter, FastAPI

from ..db import database_reachable
from ..jobs import JobWorker
from ..migrate import upgrade
from ..settings import get_settings
from .errors import install_problem_handlers
from .input_checks import install_input_checks
from .logging import configure_logging
from .secret import RequireServiceSecret

log = logging.getLogger("shared_model.service")


HealthCheck = Callable[[], dict[str, Any]]


def health_router(service: str, version: str, checks: Mapping[str, HealthCheck] | None = None) -> APIRouter:
    """``GET /health``: the service's name, version, whether the database answers, and the service's own ``checks``.

    Each check returns a dict with a ``status`` and, when that is not ``ok``, a ``reason``: the service is then
    ``degraded`` (still 200: it runs, and says what it cannot do) and its ``reason`` names every failing check.
    """
    router = APIRouter(tags=["health"])

    @router.get("/health")
    def health() -> dict[str, Any]:
        database = "ok" if database_reachable() else "unreachable"
        body: dict[str, Any] = {"service": service, "version": version, "status": "ok", "database": database}
        reasons = [] if database == "ok" else [f"database {database}"]
        for name, check in (checks or {}).items():
            result = check()
            body[name] = result
            if result.get("status") != "ok":
                reasons.append(f"{name}: {result.get('reason') or result.get('status')}")
        if reasons:
            body["status"] = "degraded"
            body["reason"] = "; ".join(reasons)
        return body

    return router


def create_service_app(
    *,
    service: str,
    version: str,
    routers: Sequence[APIRouter] = (),
    workers: Sequence[JobWorker] = (),
    migrate: bool = True,
    public: bool = False,
    on_startup: Callable[[FastAPI], None] | None = None,
    on_shutdown: Callable[[FastAPI], None] | None = None,
    health_checks: Mapping[str, HealthCheck] | None = None,
    **fastapi_kwargs: Any,
) -> FastAPI:
    """Build a service: migrations applied, job workers started, health (with ``health_checks``) and problem errors.

    Unless ``public`` (the gateway), every path but ``/health`` requires the service secret (see ``secret.py``).
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if migrate:
            upgrade()
        for worker in workers:
            worker.start()
        if on_startup:
            on_startup(app)
        log.info("service started", extra={"version": version})
        try:
            yield
        finally:
            for worker in workers:
                worker.stop()
            if on_shutdown:
                on_shutdown(app)

    app = FastAPI(title=f"refinery {service}", version=version, lifespan=lifespan, **fastapi_kwargs)
    app.state.service = service
    app.state.workers = list(workers)
    install_problem_handlers(app)
    install_input_checks(app)
    if not public:
        app.add_middleware(RequireServiceSecret)
    app.include_router(health_router(service, version, health_checks))
    for router in routers:
        app.include_router(router)
    return app


def serve(service: str, app_factory: Callable[[], FastAPI]) -> None:
    """Run a service with uvicorn on its configured host and port (what each ``__main__`` calls)."""
    settings = get_settings()
    configure_logging(service, settings.log_level)
    host = settings.gateway_host if service == "gateway" else settings.internal_host
    uvicorn.run(app_factory(), host=host, port=settings.service_port(service), log_config=None, access_log=False)
