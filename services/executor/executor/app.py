"""The executor service's app factory."""

from __future__ import annotations

import logging
import threading

from fastapi import FastAPI

from shared_model.jobs import JobWorker
from shared_model.service import create_service_app
from shared_model.settings import get_settings

from . import __version__
from .jobs import HANDLERS
from .packages import install_extra_packages
from .ray_cluster import cluster_health
from .routers import run, sandbox
from .sandbox.availability import check_sandbox
from .scheduling import job_time_limit, run_concurrency, runs_per_project

log = logging.getLogger("executor")


def _startup(app: FastAPI) -> None:
    install_extra_packages()
    check_sandbox(force=True)  # probe once at start: /health tells at once whether user code can run
    if get_settings().ray_address:  # connect and probe the cluster's nodes in the background: /health then answers at once
        threading.Thread(target=cluster_health, kwargs={"force": True}, name="ray-health", daemon=True).start()


def create_app() -> FastAPI:
    """Build the executor service: synchronous sample runs, the record IDE and the full-run jobs."""
    return create_service_app(
        service="executor",
        version=__version__,
        routers=[run.router, sandbox.router],
        workers=[
            JobWorker(
                "executor",
                HANDLERS,
                concurrency=run_concurrency(),
                per_project=runs_per_project(),
                time_limit=job_time_limit,
            )
        ],
        on_startup=_startup,
        health_checks={
            "sandbox": lambda: check_sandbox().health(),
            **({"ray": cluster_health} if get_settings().ray_address else {}),
        },
    )
