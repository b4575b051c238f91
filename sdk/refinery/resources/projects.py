"""The account and its projects: API tokens, listing, creating, choosing and deleting projects, attributes."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from ..exceptions import NotFoundError, RefineryError

if TYPE_CHECKING:
    pass


from .base import ClientBase


class ProjectsMixin(ClientBase):
    # --- account and projects ---------------------------------------------------------------------------------

    def create_api_token(self, name: str, expires_in_days: int | None = None, *, read_only: bool = False) -> dict[str, Any]:
        """Create a personal API token; its secret (``token``) is only in this answer. It acts with your role; a
        ``read_only`` token may only read (GET): anything else answers :class:`PermissionDeniedError`."""
        body: dict[str, Any] = {"name": name, "read_only": read_only}
        if expires_in_days is not None:
            body["expires_in_days"] = expires_in_days
        return self._request("POST", "/tokens", json=body)

    def list_projects(self) -> list[dict[str, Any]]:
        """The projects you belong to, newest first (id, name, description, tokenizer, status, record_count)."""
        return self._request("GET", "/projects")

    def create_project(self, name: str, description: str = "", tokenizer: str = "en", *, use: bool = True) -> dict[str, Any]:
        """Create a project (``tokenizer``: a spaCy package name or an ISO-2 language code); with ``use`` the client
        switches to it."""
        project: dict[str, Any] = self._request(
            "POST", "/projects", json={"name": name, "description": description, "tokenizer": tokenizer}
        )
        if use:
            self.project_id = str(project["id"])
            self._project = project
        return project

    def use_project(self, project_id: str) -> dict[str, Any]:
        """Switch to another project (checked: :class:`NotFoundError` when it is unknown or not yours)."""
        try:
            uuid.UUID(str(project_id))
        except ValueError:
            raise NotFoundError(f"project {project_id!r} does not exist (project ids look like UUIDs)", status=404) from None
        project: dict[str, Any] = self._request("GET", f"/projects/{project_id}")
        self.project_id = str(project["id"])
        self._project = project
        return project

    def delete_project(self, project_id: str | None = None, *, wait: bool = True) -> dict[str, Any]:
        """Delete a project (default: the current one) and everything in it."""
        pid = project_id or self._pid()
        job: dict[str, Any] = self._request("DELETE", f"/projects/{pid}")
        if pid == self.project_id:
            self.project_id, self._project = None, None
        return self.wait_for_job(job, desc="delete project") if wait else job

    def get_project_details(self) -> dict[str, Any]:
        """Name, description, tokenizer, status, record count, ``attributes`` and ``knowledge_base_ids`` (lookup lists)."""
        details: dict[str, Any] = self._request("GET", self._p())
        details["attributes"] = self.get_attributes()
        details["knowledge_base_ids"] = [str(item["id"]) for item in self.get_lookup_lists()]
        self._project = details
        return details

    def get_attributes(self) -> list[dict[str, Any]]:
        """The project's attributes in column order (name, data_type, is_primary_key, ...)."""
        return self._request("GET", self._p("/attributes"))

    def get_primary_keys(self) -> list[str]:
        """Names of the primary-key attributes (records are matched by them in :meth:`post_associations`)."""
        return [a["name"] for a in self.get_attributes() if a.get("is_primary_key")]

    def set_primary_key(self, attribute: str, is_primary_key: bool = True) -> list[str]:
        """Make the attribute (name or id) part of the primary key, or with ``False`` take it out; returns the key's
        attribute names. The server checks that the key names every record once (409 naming duplicates otherwise)."""
        found = next((a for a in self.get_attributes() if attribute in (a["name"], a["id"])), None)
        if found is None:
            raise RefineryError(f"the project has no attribute {attribute!r}")
        attributes = self._request(
            "PUT", self._p(f"/attributes/{found['id']}/primary-key"), json={"is_primary_key": is_primary_key}
        )
        return [a["name"] for a in attributes if a.get("is_primary_key")]
