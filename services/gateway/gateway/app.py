"""The gateway's app factory: public API, websocket, job worker and the UI's static files."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from fastapi import FastAPI

from shared_model.db import session_scope
from shared_model.jobs import JobWorker
from shared_model.service import create_service_app

from . import __version__
from .docs_pages import install_docs_pages
from .domain import stored_files
from .domain.users import ensure_admin
from .jobs import HANDLERS
from .policies import annotate_openapi
from .routers import (
    assignments,
    attribute_settings,
    auth,
    browser,
    calculated_attributes,
    comments,
    config,
    data,
    embeddings,
    health,
    heuristics,
    jobs,
    label_history,
    label_resolution,
    labeling,
    labeling_sessions,
    lookup_lists,
    metrics,
    projects,
    record_edit,
    record_ide,
    sample_projects,
    search,
    slices,
    snapshot,
    tokens_view,
    user_settings,
    weak_supervision,
    ws,
    ws_probabilities,
    zero_shot,
)
from .ui import UiMount, ui_app

log = logging.getLogger("gateway")
UI_DIST = Path(__file__).resolve().parents[2] / "ui" / "dist"


def _startup(app: FastAPI) -> None:
    with session_scope() as session:
        email, password = ensure_admin(session)
    stored_files.sweep()
    if password:
        log.warning("created the first admin", extra={"email": email, "password": password})
    app.state.progress_hub.start(asyncio.get_running_loop())


def _shutdown(app: FastAPI) -> None:
    app.state.progress_hub.stop()


def create_app(*, ui_dist: Path | None = None) -> FastAPI:
    """Build the gateway (``ui_dist``: the built UI to serve at ``/``, default ``services/ui/dist``)."""
    app = create_service_app(
        service="gateway",
        version=__version__,
        public=True,
        routers=[
            health.router,
            auth.router,
            snapshot.router,
            projects.router,
            data.router,
            jobs.router,
            ws.router,
            weak_supervision.router,
            ws_probabilities.router,
            heuristics.router,
            calculated_attributes.router,
            record_ide.router,
            record_edit.router,
            labeling.router,
            lookup_lists.router,
            comments.router,
            tokens_view.router,
            embeddings.router,
            search.router,
            browser.router,
            slices.router,
            labeling_sessions.router,
            metrics.router,
            zero_shot.router,
            label_resolution.router,
            label_history.router,
            sample_projects.router,
            user_settings.router,
            attribute_settings.router,
            config.router,
            assignments.router,
        ],
        workers=[JobWorker("gateway", HANDLERS, reap_all=True)],
        on_startup=_startup,
        on_shutdown=_shutdown,
        docs_url=None,  # the offline pages below replace FastAPI's CDN-based ones
        openapi_url="/api/openapi.json",
        redoc_url=None,
    )
    annotate_openapi(app.router.routes)  # each operation's x-policy: who may call it (gateway/policies.py)
    install_docs_pages(app)
    app.state.progress_hub = ws.ProgressHub()
    app.router.routes.append(UiMount("/", app=ui_app(ui_dist or UI_DIST), name="ui"))
    return app
