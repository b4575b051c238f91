"""The data browser of the chosen project: filtered search, slices (see :mod:`refinery.browser` for the rest)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, cast

from .base import ClientBase

if TYPE_CHECKING:
    from ..browser import Browser
    from ..client import Client


class BrowsingMixin(ClientBase):
    # --- data browser (refinery.browser) ---------------------------------------------------------------------

    @property
    def browser(self) -> Browser:
        """Search with filters, slices, labeling sessions, bulk labels and metrics of the current project."""
        from ..browser import Browser

        return Browser(cast("Client", self))

    def search_records(
        self, filter: dict[str, Any] | None = None, sort: list[dict[str, Any]] | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every record a data-browser filter selects, in sort order (see :mod:`refinery.browser`)."""
        return self.browser.search(filter, sort=sort)

    def get_slices(self) -> list[dict[str, Any]]:
        """The project's data slices with their counts."""
        return self.browser.slices()

    def create_slice(self, name: str, filter: dict[str, Any] | None = None, *, static: bool = False) -> dict[str, Any]:
        """Save a filter as a dynamic slice, or its current records as a static one."""
        return self.browser.create_slice(name, filter, static=static)
