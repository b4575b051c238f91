"""Work for annotators: an engineer assigns records (a slice, a labeling session or record ids) to annotators; an
annotator works through their queue (progress, next record, skip, a comment to the engineer)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..exceptions import NotFoundError
from .base import ClientBase


class AssignmentsMixin(ClientBase):
    # --- the engineer ---------------------------------------------------------------------------------------------

    def assign_work(
        self,
        name: str,
        annotators: Sequence[str],
        *,
        slice_id: str | None = None,
        session_id: str | None = None,
        record_ids: Sequence[int] | None = None,
        redundancy: int = 1,
        due_count: int | None = None,
        task: str | None = None,
        bias_guard: bool = True,
    ) -> dict[str, Any]:
        """Assign the records of a slice, a labeling session or ``record_ids`` to ``annotators`` (ids or e-mails):
        each record to ``redundancy`` of them (a deterministic round robin), ``due_count`` records due per annotator
        (None: all), done when labeled in ``task`` (id or name; None: any task). ``bias_guard``: the annotators see
        neither others' labels nor heuristic votes on these records. Returns the assignment with each annotator's
        progress."""
        body: dict[str, Any] = {
            "name": name,
            "annotator_ids": [self._user_id(a) for a in annotators],
            "redundancy": redundancy,
            "bias_guard": bias_guard,
        }
        if slice_id is not None:
            body["slice_id"] = slice_id
        if session_id is not None:
            body["session_id"] = session_id
        if record_ids is not None:
            body["record_ids"] = [int(r) for r in record_ids]
        if due_count is not None:
            body["due_count"] = due_count
        if task is not None:
            body["labeling_task_id"] = self._task_id(task)
        return self._request("POST", self._p("/assignments"), json=body)

    def get_assignments(self) -> list[dict[str, Any]]:
        """The project's assignments with each annotator's progress (assigned, done, skipped, due) and comment."""
        return self._request("GET", self._p("/assignments"))

    def get_assignment(self, assignment_id: str) -> dict[str, Any]:
        return self._request("GET", self._p(f"/assignments/{assignment_id}"))

    def set_bias_guard(self, assignment_id: str, on: bool) -> dict[str, Any]:
        """Switch blind labeling on or off for an assignment's annotators."""
        return self._request("PATCH", self._p(f"/assignments/{assignment_id}"), json={"bias_guard": on})

    def revert_assignment(self, assignment_id: str, annotator: str) -> dict[str, Any]:
        """Remove one annotator's (id or e-mail) manual labels of the assignment's records: ``{"records", "changes"}``."""
        body = {"annotator_id": self._user_id(annotator)}
        return self._request("POST", self._p(f"/assignments/{assignment_id}/revert"), json=body)

    def delete_assignment(self, assignment_id: str) -> None:
        self._request("DELETE", self._p(f"/assignments/{assignment_id}"))

    # --- the annotator --------------------------------------------------------------------------------------------

    def my_queue(self) -> list[dict[str, Any]]:
        """Your assignments in the project with your progress (``assigned``, ``done``, ``skipped``, ``due_count``)."""
        return self._request("GET", self._p("/my-assignments"))

    def next_record(self, assignment_id: str, *, include_skipped: bool = False) -> dict[str, Any] | None:
        """Your next record of the assignment that you have not labeled nor skipped (``{"id", "data"}``), or None when
        the queue is through (``include_skipped``: offer skipped records again)."""
        params = {"include_skipped": str(include_skipped).lower()}
        found: dict[str, Any] = self._request("GET", self._p(f"/my-assignments/{assignment_id}/next"), params=params)
        record: dict[str, Any] | None = found["record"]
        return record

    def skip_record(self, assignment_id: str, record_id: int) -> dict[str, Any]:
        """Skip a record of your queue; returns your progress."""
        return self._request("POST", self._p(f"/my-assignments/{assignment_id}/skip"), json={"record_id": int(record_id)})

    def comment_assignment(self, assignment_id: str, comment: str) -> dict[str, Any]:
        """Your comment to the engineer on an assignment (replaces your previous one)."""
        return self._request("PUT", self._p(f"/my-assignments/{assignment_id}/comment"), json={"comment": comment})

    def label_record(self, record_id: int, labels: str | Sequence[str], task: str | None = None) -> dict[str, Any]:
        """Set your classification label(s) (names) of ``task`` (id or name) on one record, e.g. the one
        :meth:`next_record` gave; returns your labels of it."""
        task_id = self._task_id(task)
        found = self._request("GET", self._p(f"/labeling-tasks/{task_id}"))
        names = {label["name"]: str(label["id"]) for label in found["labels"]}
        wanted = [labels] if isinstance(labels, str) else list(labels)
        unknown = [name for name in wanted if name not in names]
        if unknown:
            raise NotFoundError(f"labeling task has no label(s) {', '.join(map(repr, unknown))}", status=404)
        body = {"label_ids": [names[name] for name in wanted]}
        path = self._p(f"/records/{int(record_id)}/labeling-tasks/{task_id}/classification")
        result: dict[str, Any] = self._request("PUT", path, json=body)
        return result
