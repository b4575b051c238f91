"""The refinery client: projects, data in and out, labeling tasks, manual labels, heuristics and weak supervision.

``Client`` is the one object users create; each group of its methods lives in a module of its own under
``refinery/resources/`` (a mixin), all sharing ``resources/base.py``'s transport and helpers.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ._http import Transport
from .exceptions import ConfigurationError
from .resources.assignments import AssignmentsMixin
from .resources.base import DEFAULT_URI, FINAL_JOB_STATES, RECORD_BATCH, ClientBase
from .resources.browsing import BrowsingMixin
from .resources.export import ExportMixin
from .resources.heuristics import HeuristicsMixin
from .resources.imports import ImportsMixin
from .resources.labeling import LabelingMixin
from .resources.lookup_lists import LookupListsMixin
from .resources.members import MembersMixin
from .resources.projects import ProjectsMixin
from .resources.teams import TeamsMixin
from .settings import read_json_object

__all__ = ["DEFAULT_URI", "FINAL_JOB_STATES", "RECORD_BATCH", "Client"]


class Client(
    ProjectsMixin,
    LookupListsMixin,
    ExportMixin,
    ImportsMixin,
    LabelingMixin,
    HeuristicsMixin,
    BrowsingMixin,
    TeamsMixin,
    AssignmentsMixin,
    MembersMixin,
    ClientBase,
):
    """A connection to one refinery project (``project_id``), authenticated by login or by API token.

    ``Client(user_name, password, project_id, uri)`` works as in the original SDK (``user_name`` is the account's
    email); ``Client(api_token=..., project_id=..., uri=...)`` uses a personal API token instead. ``project_id`` may be
    left out for project-independent calls (:meth:`list_projects`, :meth:`create_project`) and set later with
    :meth:`use_project`. ``progress``: show progress bars (None: only on a terminal). Every failure raises a
    :class:`refinery.RefineryError` subclass with the server's message.
    """

    def __init__(
        self,
        user_name: str | None = None,
        password: str | None = None,
        project_id: str | None = None,
        uri: str = DEFAULT_URI,
        *,
        api_token: str | None = None,
        timeout: float = 120.0,
        progress: bool | None = True,
    ) -> None:
        if not api_token and not (user_name and password is not None):
            raise ConfigurationError("give user_name and password, or api_token")
        self.uri = uri.rstrip("/")
        self.progress = progress
        self._transport = Transport(self.uri, api_token=api_token, user_name=user_name, password=password, timeout=timeout)
        if api_token:
            self.user = self._transport.request("GET", "/auth/me")
        else:
            self.user = self._transport.login()
        self.project_id: str | None = None
        self._project: dict[str, Any] | None = None
        if project_id:
            self.use_project(project_id)

    @classmethod
    def from_secrets_file(cls, path_to_file: str | os.PathLike[str], project_id: str | None = None) -> Client:
        """A client from a JSON secrets file as the original's: ``user_name``, ``password``, ``project_id``, ``uri``
        (``api_token`` may replace user name and password). ``project_id`` overrides the file's."""
        path = Path(path_to_file)
        content = read_json_object(path, "secrets file", f"secrets file {path} does not exist")
        return cls(
            user_name=content.get("user_name") or content.get("email"),
            password=content.get("password"),
            project_id=project_id or content.get("project_id"),
            uri=content.get("uri") or DEFAULT_URI,
            api_token=content.get("api_token"),
        )

    def close(self) -> None:
        """Close the HTTP connection."""
        self._transport.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
