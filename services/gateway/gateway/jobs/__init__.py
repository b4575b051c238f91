"""The jobs the gateway runs itself, by kind."""

from __future__ import annotations

from shared_model.jobs import Handler

from .project_delete import delete_project
from .upload import run_upload

HANDLERS: dict[str, Handler] = {
    "project_delete": delete_project,
    "upload": run_upload,
}
