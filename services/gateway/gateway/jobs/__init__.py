"""The jobs the gateway runs itself, by kind."""

from __future__ import annotations

from shared_model.jobs import Handler

from ..domain.browser.bulk_delete import run_records_delete
from .project_delete import delete_project
from .snapshot_import import run_snapshot_import
from .upload import run_upload

HANDLERS: dict[str, Handler] = {
    "project_delete": delete_project,
    "upload": run_upload,
    "snapshot_import": run_snapshot_import,
    "records_delete": run_records_delete,
}
