"""Lookup lists of the chosen project."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    pass

from .base import ClientBase


class LookupListsMixin(ClientBase):
    # --- lookup lists -----------------------------------------------------------------------------------------

    def get_lookup_lists(self) -> list[dict[str, Any]]:
        """Every lookup list of the project, each with its ``terms``."""
        lists: list[dict[str, Any]] = self._request("GET", self._p("/lookup-lists"))
        return [self.get_lookup_list(str(item["id"])) for item in lists]

    def get_lookup_list(self, list_id: str) -> dict[str, Any]:
        """One lookup list: name, description, python_name (``from knowledge import …``) and ``terms``
        (value, comment, blacklisted)."""
        lookup: dict[str, Any] = self._request("GET", self._p(f"/lookup-lists/{list_id}"))
        lookup["terms"] = self._request("GET", self._p(f"/lookup-lists/{list_id}/terms"))
        return lookup

    def create_lookup_list(self, name: str, terms: Sequence[str] = (), description: str = "") -> dict[str, Any]:
        """Create a lookup list with ``terms``; returns it with its terms."""
        created: dict[str, Any] = self._request("POST", self._p("/lookup-lists"), json={"name": name, "description": description})
        if terms:
            self._request("POST", self._p(f"/lookup-lists/{created['id']}/terms"), json={"terms": [{"value": t} for t in terms]})
        return self.get_lookup_list(str(created["id"]))
