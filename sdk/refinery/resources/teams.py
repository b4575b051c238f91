"""Teams of annotators: the label-resolution rule, inter-annotator agreement, label history and reverting labels."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ..exceptions import NotFoundError
from .base import ClientBase


class TeamsMixin(ClientBase):
    # --- annotators -------------------------------------------------------------------------------------------

    def _user_id(self, user: str) -> str:
        """A project member's id, given their id or e-mail address."""
        if "@" not in user:
            return user
        members: list[dict[str, Any]] = self._request("GET", self._p("/members"))
        for member in members:
            if member["email"].lower() == user.lower():
                return str(member["id"])
        raise NotFoundError(f"{user!r} is not a member of this project", status=404)

    def get_label_resolution(self) -> dict[str, Any]:
        """The project's resolution rule: ``{"rule": UNANIMOUS | MAJORITY | EXPERT, "expert_user_id": …}``."""
        return self._request("GET", self._p("/label-resolution"))

    def set_label_resolution(self, rule: str, expert: str | None = None) -> dict[str, Any]:
        """Set how disagreeing annotators' labels are resolved (a gold star always decides first): ``UNANIMOUS`` (no
        decided label), ``MAJORITY`` (the label set most annotators gave; a tie: none) or ``EXPERT`` (``expert``, a
        member's id or e-mail, decides where they labeled). The decided labels, which export and weak supervision
        use, are recomputed at once; ``recomputed`` says for how many (record, task) pairs."""
        body: dict[str, Any] = {"rule": rule.upper()}
        if expert is not None:
            body["expert_user_id"] = self._user_id(expert)
        return self._request("PUT", self._p("/label-resolution"), json=body)

    def get_agreement(
        self, task: str | None = None, *, slice_id: str | None = None, include_gold_starred: bool = True
    ) -> dict[str, Any]:
        """Inter-annotator agreement of a labeling task (id or name): per annotator pair percent agreement and Cohen's
        kappa, overall percent agreement and Krippendorff's alpha (nominal), on records two or more annotators
        labeled (tokens for extraction tasks)."""
        params: dict[str, Any] = {"task_id": self._task_id(task), "include_gold_starred": str(include_gold_starred).lower()}
        if slice_id is not None:
            params["slice_id"] = slice_id
        return self._request("GET", self._p("/metrics/agreement"), params=params)

    def get_label_history(
        self,
        record_id: int | None = None,
        *,
        annotator: str | None = None,
        task: str | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """Changes of manual labels, newest first: of one record, or of the project (optionally one ``annotator``, id or
        e-mail); each with ``annotator_id``, ``changed_by``, ``via`` (UI, SDK, BULK, UPLOAD, SNAPSHOT, REVERT),
        ``event`` (LABELS, GOLD_STAR_SET, GOLD_STAR_WITHDRAWN, LABEL_DELETED, TASK_DELETED), ``old_labels`` and
        ``new_labels``."""
        params: dict[str, Any] = {"limit": limit}
        if task is not None:
            params["task_id"] = self._task_id(task)
        if record_id is not None:
            return self._request("GET", self._p(f"/records/{record_id}/label-history"), params=params)
        if annotator is not None:
            params["annotator_id"] = self._user_id(annotator)
        return self._request("GET", self._p("/label-history"), params=params)

    def revert_labels(
        self,
        annotator: str,
        *,
        record_ids: Sequence[int] | None = None,
        task: str | None = None,
        since: datetime | None = None,
    ) -> dict[str, Any]:
        """Revert one annotator's (id or e-mail) manual labels, on ``record_ids`` / of ``task`` when given: remove them,
        or with ``since`` undo only their changes since then. Returns ``{"records", "changes"}``."""
        body: dict[str, Any] = {"annotator_id": self._user_id(annotator)}
        if record_ids is not None:
            body["record_ids"] = list(record_ids)
        if task is not None:
            body["labeling_task_id"] = self._task_id(task)
        if since is not None:
            body["since"] = since.isoformat()
        return self._request("POST", self._p("/label-history/revert"), json=body)
