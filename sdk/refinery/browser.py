"""The data browser from Python: search records with a filter, slices, labeling sessions, bulk labels, metrics.

``client.browser`` is a :class:`Browser` for the client's project. Filters are plain dicts in the API's format
(docs/data-browser.md); :func:`attribute`, :func:`condition` and :func:`group` build them::

    from refinery.browser import attribute, group
    tech = group(attribute("topic", "EQUAL", "tech"), {"kind": "has_comments"}, join="OR")
    for record in client.browser.search(tech, sort=[{"by": "random", "seed": "abc1234"}]):
        ...
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .client import Client


def attribute(
    name: str | None, operator: str, *values: Any, case_sensitive: bool = False, negate: bool = False
) -> dict[str, Any]:
    """An attribute condition (``name`` None: any attribute)."""
    return {
        "kind": "attribute",
        "attribute": name,
        "operator": operator,
        "values": list(values),
        "case_sensitive": case_sensitive,
        "negate": negate,
    }


def full_text(query: str, attribute: str | None = None, *, negate: bool = False) -> dict[str, Any]:
    """A full-text condition: ``query`` in web-search syntax (words, ``"a phrase"``, ``OR``, ``-word``) over one
    TEXT/CATEGORY attribute, or (None) all the record's string values."""
    return {"kind": "full_text", "query": query, "attribute": attribute, "negate": negate}


def similar_to(
    embedding_id: str, *, record_id: int | None = None, text: str | None = None, top_k: int = 100, min_score: float | None = None
) -> dict[str, Any]:
    """A similarity query (exactly one of ``record_id``, ``text``): the ``top_k`` (at most 1,000) records most similar
    under an attribute-level embedding, optionally only those scoring at least ``min_score`` (cosine similarity)."""
    query: dict[str, Any] = {"embedding_id": str(embedding_id), "top_k": top_k, "min_score": min_score}
    query.update({"record_id": record_id} if record_id is not None else {"text": text})
    return query


def similar(embedding_id: str, *, negate: bool = False, **query: Any) -> dict[str, Any]:
    """A similarity condition (``query`` as for :func:`similar_to`)."""
    return {"kind": "similar", **similar_to(embedding_id, **query), "negate": negate}


def by_similarity(embedding_id: str, **query: Any) -> dict[str, Any]:
    """A sort key: most similar first (``query`` as for :func:`similar_to`; records outside its top_k sort last)."""
    return {"by": "similarity", "direction": "desc", "similar_to": similar_to(embedding_id, **query)}


def condition(kind: str, **fields: Any) -> dict[str, Any]:
    """Any other condition, e.g. ``condition("manual_label", task_id=..., mode="none")``."""
    return {"kind": kind, **fields}


def group(*conditions: dict[str, Any], join: str = "AND", negate: bool = False) -> dict[str, Any]:
    """Conditions joined by AND or OR."""
    return {"kind": "group", "join": join, "negate": negate, "conditions": list(conditions)}


class Browser:
    """Data-browser calls for ``client``'s current project."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        return self._client._request(method, self._client._p(path), **kwargs)

    # --- search -----------------------------------------------------------------------------------------------

    def search_page(
        self,
        filter: dict[str, Any] | None = None,
        *,
        sort: list[dict[str, Any]] | None = None,
        limit: int = 20,
        cursor: str | None = None,
        count: str = "auto",
    ) -> dict[str, Any]:
        """One page: ``items``, ``total``, ``total_estimated``, ``next_cursor``. ``count``: ``auto`` (exact when small
        or quick, else the planner's estimate; ``total_estimated`` says which), ``exact``, ``estimate`` or ``none``."""
        body = {"filter": filter, "sort": sort or [], "limit": limit, "cursor": cursor, "count": count}
        result: dict[str, Any] = self._call("POST", "/records/search", json=body)
        return result

    def search(
        self, filter: dict[str, Any] | None = None, *, sort: list[dict[str, Any]] | None = None, page_size: int = 200
    ) -> Iterator[dict[str, Any]]:
        """Every record the filter selects (``id``, ``data``, ``labels``), in sort order, page by page."""
        cursor: str | None = None
        while True:
            page = self.search_page(filter, sort=sort, limit=page_size, cursor=cursor, count="none")
            yield from page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                return

    def count(self, filter: dict[str, Any] | None = None, *, estimate: bool = False, mode: str | None = None) -> int:
        """How many records the filter selects (``mode``: ``exact``, the default unless ``estimate``, or
        ``estimate`` / ``auto``; :meth:`count_result` also says whether the figure is an estimate)."""
        return int(self.count_result(filter, mode=mode or ("estimate" if estimate else "exact"))["total"])

    def count_result(self, filter: dict[str, Any] | None = None, *, mode: str = "auto") -> dict[str, Any]:
        """``{"total", "total_estimated"}`` for the filter."""
        result: dict[str, Any] = self._call("POST", "/records/count", json={"filter": filter, "count": mode})
        return result

    def unique_values(self, *attributes: str, max_values: int = 20) -> dict[str, Any]:
        """Distinct values of low-cardinality attributes (default: every CATEGORY and BOOLEAN one)."""
        params: dict[str, Any] = {"max_values": max_values}
        if attributes:
            params["attribute"] = list(attributes)
        result: dict[str, Any] = self._call("GET", "/records/unique-values", params=params)
        return result

    def bulk_label(
        self, filter: dict[str, Any] | None, labeling_task_id: str, label_ids: list[str], *, confirm_count: int | None = None
    ) -> dict[str, Any]:
        """Set your label(s) on every record of the filter; over 1,000 records pass ``confirm_count`` (the count)."""
        body = {"filter": filter, "labeling_task_id": labeling_task_id, "label_ids": label_ids, "confirm_count": confirm_count}
        result: dict[str, Any] = self._call("POST", "/records/bulk-label", json=body)
        return result

    def bulk_delete(self, filter: dict[str, Any] | None, *, confirm_count: int | None = None) -> dict[str, Any]:
        """Delete every record of the filter; over 1,000 records pass ``confirm_count`` (the count). Returns
        ``{"records", "job"}``: ``job`` is the ``records_delete`` job when over 10,000 records (else None)."""
        body = {"filter": filter, "confirm_count": confirm_count}
        result: dict[str, Any] = self._call("POST", "/records/bulk-delete", json=body)
        return result

    # --- slices -----------------------------------------------------------------------------------------------

    def slices(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("GET", "/slices")
        return result

    def create_slice(self, name: str, filter: dict[str, Any] | None = None, *, static: bool = False) -> dict[str, Any]:
        """A dynamic slice (the filter), or a static one (the filter's records now)."""
        body = {"name": name, "filter": filter, "type": "STATIC_DEFAULT" if static else "DYNAMIC_DEFAULT"}
        result: dict[str, Any] = self._call("POST", "/slices", json=body)
        return result

    def get_slice(self, slice_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", f"/slices/{slice_id}")
        return result

    def update_slice(self, slice_id: str, **changes: Any) -> dict[str, Any]:
        """``name=``, ``filter=``, ``refreeze=True`` (static slices)."""
        result: dict[str, Any] = self._call("PATCH", f"/slices/{slice_id}", json=changes)
        return result

    def add_to_slice(
        self, slice_id: str, *, filter: dict[str, Any] | None = None, record_ids: list[int] | None = None
    ) -> dict[str, Any]:
        body = {"filter": filter} if record_ids is None else {"record_ids": record_ids}
        result: dict[str, Any] = self._call("POST", f"/slices/{slice_id}/records", json=body)
        return result

    def delete_slice(self, slice_id: str) -> None:
        self._call("DELETE", f"/slices/{slice_id}")

    # --- labeling sessions --------------------------------------------------------------------------------------

    def create_session(self, **source: Any) -> dict[str, Any]:
        """``filter=`` (+ ``sort=``), ``slice_id=``, ``heuristic_id=`` or ``record_ids=``; ``name=``, ``position=``."""
        result: dict[str, Any] = self._call("POST", "/labeling-sessions", json=source)
        return result

    def session(self, session_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", f"/labeling-sessions/{session_id}")
        return result

    def next_record(self, session_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", f"/labeling-sessions/{session_id}/next")
        return result

    def previous_record(self, session_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", f"/labeling-sessions/{session_id}/previous")
        return result

    # --- metrics ----------------------------------------------------------------------------------------------

    def metric(self, name: str, *, task_id: str | None = None, slice_id: str | None = None, **params: Any) -> Any:
        """``progress``, ``label-distribution``, ``confidence-histogram``, ``confusion-matrix`` or ``heuristics``."""
        query = {k: v for k, v in {"task_id": task_id, "slice_id": slice_id, **params}.items() if v is not None}
        return self._call("GET", f"/metrics/{name}", params=query)
