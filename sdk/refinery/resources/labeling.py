"""Labeling tasks, labels and manual labels (classification and spans)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..exceptions import JobFailedError, NotFoundError, RefineryError

if TYPE_CHECKING:
    pass


from .base import ClientBase, _key


class LabelingMixin(ClientBase):
    # --- labeling tasks, labels, manual labels ----------------------------------------------------------------

    def get_labeling_tasks(self) -> list[dict[str, Any]]:
        """The project's labeling tasks with their labels."""
        return self._request("GET", self._p("/labeling-tasks"))

    def get_labeling_task(self, task: str) -> dict[str, Any]:
        """One labeling task by id or by name."""
        tasks = self.get_labeling_tasks()
        for item in tasks:
            if str(item["id"]) == task or item["name"] == task:
                return item
        names = ", ".join(repr(t["name"]) for t in tasks) or "none"
        raise NotFoundError(f"the project has no labeling task {task!r} (tasks: {names})", status=404)

    def _task_id(self, task: str | None) -> str:
        if task is None:
            tasks = self.get_labeling_tasks()
            if len(tasks) != 1:
                names = ", ".join(repr(t["name"]) for t in tasks) or "none"
                raise RefineryError(f"name the labeling task: the project has {len(tasks)} ({names})")
            return str(tasks[0]["id"])
        try:
            return str(uuid.UUID(task))
        except ValueError:
            return str(self.get_labeling_task(task)["id"])

    def create_labeling_task(
        self,
        name: str,
        attribute: str | None = None,
        task_type: str = "MULTICLASS_CLASSIFICATION",
        labels: Sequence[str] = (),
    ) -> dict[str, Any]:
        """Create a labeling task on ``attribute`` (a name; None = the whole record) of ``task_type``
        (MULTICLASS_CLASSIFICATION, MULTILABEL_CLASSIFICATION or INFORMATION_EXTRACTION), then its ``labels`` one by
        one, in the given order (the order label models number them in)."""
        body: dict[str, Any] = {"name": name, "task_type": task_type}
        if attribute is not None:
            body["attribute"] = attribute
        task: dict[str, Any] = self._request("POST", self._p("/labeling-tasks"), json=body)
        task["labels"] = list(task.get("labels") or []) + [self.create_label(str(task["id"]), label) for label in labels]
        return task

    def create_label(self, task: str, name: str, color: str | None = None, hotkey: str | None = None) -> dict[str, Any]:
        """Add a label to a labeling task (by id or name)."""
        body: dict[str, Any] = {"name": name}
        if color is not None:
            body["color"] = color
        if hotkey is not None:
            body["hotkey"] = hotkey
        return self._request("POST", self._p(f"/labeling-tasks/{self._task_id(task)}/labels"), json=body)

    def get_labels(self, task: str) -> list[dict[str, Any]]:
        """The labels of a labeling task (by id or name)."""
        found = self.get_labeling_task(task)
        if "labels" in found:
            return list(found["labels"])
        return self._request("GET", self._p(f"/labeling-tasks/{found['id']}/labels"))

    def _record_ids_by_key(self) -> tuple[list[str], dict[tuple[str | None, ...], int]]:
        keys = self.get_primary_keys()
        if not keys:
            raise RefineryError("the project has no primary-key attribute to match records by")
        mapping = {tuple(_key(r["data"].get(k)) for k in keys): int(r["id"]) for r in self.iter_records()}
        return keys, mapping

    def post_manual_labels(
        self,
        labels: Sequence[str | None],
        indices: Sequence[Any] | None = None,
        *,
        record_ids: Sequence[int] | None = None,
        labeling_task: str | None = None,
    ) -> dict[str, Any]:
        """Set your manual classification labels in bulk (one transaction): ``labels[i]`` for the record with primary
        key ``indices[i]`` (a value, or a dict of key attribute → value) or with id ``record_ids[i]``; None clears."""
        if (indices is None) == (record_ids is None):
            raise RefineryError("give either indices (primary keys) or record_ids")
        if indices is not None:
            keys, mapping = self._record_ids_by_key()
            ids: list[int] = []
            unknown: list[Any] = []
            for index in indices:
                key = tuple(_key(index.get(k)) for k in keys) if isinstance(index, dict) else (_key(index),)
                if key in mapping:
                    ids.append(mapping[key])
                else:
                    unknown.append(index)
            if unknown:
                raise NotFoundError(f"{len(unknown)} primary key(s) match no record, e.g. {unknown[:5]!r}", status=404)
        else:
            ids = [int(r) for r in record_ids or []]
        if len(ids) != len(labels):
            raise RefineryError(f"{len(labels)} labels for {len(ids)} records")
        task_id = self._task_id(labeling_task)
        names = {label["name"]: str(label["id"]) for label in self.get_labels(task_id)}
        unknown_labels = sorted({str(lab) for lab in labels if lab is not None and lab not in names})
        if unknown_labels:
            raise NotFoundError(f"labeling task has no label(s) {', '.join(map(repr, unknown_labels))}", status=404)
        groups: dict[str | None, list[int]] = {}
        for record_id, label in zip(ids, labels, strict=True):
            groups.setdefault(label, []).append(record_id)
        written = 0
        for label, group in self._bar(groups.items(), desc="manual labels", unit=" labels"):
            if label is None:
                for record_id in group:
                    self._request("DELETE", self._p(f"/records/{record_id}/labeling-tasks/{task_id}/classification"))
                continue
            result = self._request(
                "POST",
                self._p("/manual-labels/bulk"),
                json={"labeling_task_id": task_id, "record_ids": group, "label_id": names[label]},
            )
            written += int(result.get("labels_written", len(group)))
        return {"records": len(ids), "labels_written": written, "cleared": len(groups.get(None, [])), "labeling_task_id": task_id}

    def add_span(
        self,
        label: str,
        *,
        index: Any = None,
        record_id: int | None = None,
        token_start: int | None = None,
        token_end: int | None = None,
        char_start: int | None = None,
        char_end: int | None = None,
        labeling_task: str | None = None,
    ) -> dict[str, Any]:
        """Add your manual span of ``label`` to an extraction task, on the record with primary key ``index`` (or id
        ``record_id``), by token range or by character range (snapped outward to whole tokens; the answer says where).
        Ends are exclusive."""
        if record_id is None:
            if index is None:
                raise RefineryError("give index (primary key) or record_id")
            keys, mapping = self._record_ids_by_key()
            key = tuple(_key(index.get(k)) for k in keys) if isinstance(index, dict) else (_key(index),)
            if key not in mapping:
                raise NotFoundError(f"no record has primary key {index!r}", status=404)
            record_id = mapping[key]
        task = self.get_labeling_task(self._task_id(labeling_task))
        label_ids = {item["name"]: str(item["id"]) for item in task["labels"]}
        if label not in label_ids:
            raise NotFoundError(f"labeling task {task['name']!r} has no label {label!r}", status=404)
        body = {
            "label_id": label_ids[label],
            "token_start": token_start,
            "token_end": token_end,
            "char_start": char_start,
            "char_end": char_end,
        }
        return self._request(
            "POST",
            self._p(f"/records/{record_id}/labeling-tasks/{task['id']}/spans"),
            json={k: v for k, v in body.items() if v is not None},
        )

    def wait_until_idle(self, timeout_s: float = 300.0) -> None:
        """Wait until the project has no queued or running job (e.g. tokenization after an upload)."""
        deadline = time.monotonic() + timeout_s
        while True:
            busy = [j for j in self._request("GET", self._p("/jobs")) if j["state"] in ("queued", "running")]
            if not busy:
                return
            if time.monotonic() > deadline:
                kinds = ", ".join(sorted({j["kind"] for j in busy}))
                raise JobFailedError(f"the project still has jobs after {timeout_s} s: {kinds}", job=busy[0])
            time.sleep(0.2)
