"""Heuristics, their results and statistics, and weak supervision."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..exceptions import JobFailedError, NotFoundError, RefineryError

if TYPE_CHECKING:
    import pandas as pd


from .base import ClientBase, _plain


class HeuristicsMixin(ClientBase):
    # --- heuristics and weak supervision ----------------------------------------------------------------------

    def get_heuristics(self, labeling_task: str | None = None) -> list[dict[str, Any]]:
        """The project's heuristics (optionally of one labeling task), each with its last run."""
        params = {"labeling_task_id": self._task_id(labeling_task)} if labeling_task is not None else {}
        return self._request("GET", self._p("/heuristics"), params=params)

    def create_heuristic(
        self,
        labeling_task: str,
        name: str,
        source_code: str = "",
        description: str = "",
        heuristic_type: str = "LABELING_FUNCTION",
    ) -> dict[str, Any]:
        """Create a labeling function (``source_code``) or a PRE_COMPUTED heuristic for a labeling task."""
        body = {
            "labeling_task_id": self._task_id(labeling_task),
            "name": name,
            "source_code": source_code,
            "description": description,
            "type": heuristic_type,
        }
        return self._request("POST", self._p("/heuristics"), json=body)

    def _heuristic_id(self, heuristic: str) -> str:
        try:
            return str(uuid.UUID(heuristic))
        except ValueError:
            pass
        for item in self.get_heuristics():
            if item["name"] == heuristic:
                return str(item["id"])
        raise NotFoundError(f"the project has no heuristic {heuristic!r}", status=404)

    def run_heuristic(self, heuristic: str, *, wait: bool = True) -> dict[str, Any]:
        """Run a labeling function (by id or name) on every record; with ``wait``, the finished run (state, logs,
        duration), else the queued run."""
        heuristic_id = self._heuristic_id(heuristic)
        started = self._request("POST", self._p(f"/heuristics/{heuristic_id}/runs"))
        run = started["runs"][0]
        if not wait:
            return run
        try:
            self.wait_for_job(started["job"], desc=f"heuristic {heuristic}")
        except JobFailedError:
            pass  # the run tells why, with its logs
        run = self._request("GET", self._p(f"/heuristics/{heuristic_id}/runs/{run['id']}"))
        if run["state"] != "FINISHED":
            reason = (run.get("error") or "").strip() or "; ".join(run.get("logs") or [])[-500:]
            raise JobFailedError(f"heuristic {heuristic} {run['state'].lower()}: {reason}", job=run)
        return run

    def post_associations(
        self,
        associations: Sequence[Any],
        indices: Sequence[Any],
        name: str,
        label_task_name: str,
        source_type: str = "heuristic",
    ) -> dict[str, Any]:
        """Store pre-computed heuristic results by primary key, as the original: ``associations[i]`` is the result for
        the record whose primary key is ``indices[i]`` (a value or a dict of key attribute → value): a label name,
        ``[label, confidence]``, None, or for extraction a list of ``[label, start_token, end_token(, confidence)]``.

        The PRE_COMPUTED heuristic ``name`` of task ``label_task_name`` is created when missing; its previous results
        are replaced (all or nothing). Returns the counts stored and the heuristic's id.
        """
        if source_type not in ("heuristic", "PRE_COMPUTED", "INFORMATION_SOURCE"):
            raise RefineryError(f"source_type {source_type!r} is not supported; use 'heuristic'")
        if len(associations) != len(indices):
            raise RefineryError(f"{len(associations)} associations for {len(indices)} indices")
        task_id = self._task_id(label_task_name)
        existing = next((h for h in self.get_heuristics() if h["name"] == name), None)
        if existing is None:
            existing = self.create_heuristic(task_id, name, heuristic_type="PRE_COMPUTED", description="posted by the SDK")
        elif str(existing["labeling_task_id"]) != task_id:
            raise RefineryError(f"heuristic {name!r} belongs to another labeling task")
        result: dict[str, Any] = self._request(
            "POST",
            self._p(f"/heuristics/{existing['id']}/associations"),
            json={"indices": list(_plain(indices)), "associations": list(_plain(associations))},
        )
        return {**result, "heuristic_id": str(existing["id"])}

    def run_weak_supervision(
        self,
        labeling_task: str | None = None,
        model: str = "auto",
        *,
        heuristics: Sequence[str] | None = None,
        min_confidence: float = 0.0,
        seed: int = 0,
        extraction_model: str = "spans",
        wait: bool = True,
    ) -> dict[str, Any]:
        """Combine the task's selected heuristics (or ``heuristics``, ids or names) with a label model (``auto``,
        ``refinery``, ``majority``, ``generative``, ``semi``; extraction tasks: ``extraction_model`` ``spans`` or
        ``hmm``); with ``wait``, the finished run with its summary."""
        task_id = self._task_id(labeling_task)
        body: dict[str, Any] = {
            "labeling_task_id": task_id,
            "model": model,
            "min_confidence": min_confidence,
            "seed": seed,
            "extraction_model": extraction_model,
        }
        if heuristics is not None:
            body["heuristic_ids"] = [self._heuristic_id(h) for h in heuristics]
        started = self._request("POST", self._p("/weak-supervision"), json=body)
        if not wait:
            return started
        self.wait_for_job(started["job"], desc=f"weak supervision ({model})")
        return self._request("GET", self._p(f"/weak-supervision/runs/{started['run_id']}"))

    def get_weak_supervision_quality(self, labeling_task: str | None = None) -> dict[str, Any]:
        """The quality of the task's latest finished weak-supervision run, estimated by k-fold cross-validation on the
        manual labels (never on labels the model was fitted on): ``accuracy`` with ``accuracy_interval_95``,
        ``coverage``, ``per_label`` precision / recall (keyed by label name), ``manual_labels``; ``available`` is
        False with a ``reason`` when there are too few labels (< 10) or a label has none. Also ``run_id``, ``state``,
        ``model`` and ``picked``. Extraction tasks (``level`` ``"token"``): ``precision``, ``recall``, ``f1`` with
        ``f1_interval_95`` over the tokens of manual and predicted spans, ``span_precision`` / ``span_recall`` /
        ``span_f1`` (exact matches), ``tokens``, and ``per_label`` with ``f1`` (support in tokens); no accuracy."""
        task_id = self._task_id(labeling_task)
        quality: dict[str, Any] = self._request("GET", self._p("/metrics/weak-supervision-quality"), params={"task_id": task_id})
        token_level = quality.get("level") == "token"
        quality["per_label"] = {
            row["label_name"]: {
                k: v for k, v in row.items() if k not in ("label_id", "label_name") and (token_level or k != "f1")
            }
            for row in quality.get("per_label") or []
        }
        return quality

    def get_weak_supervision_probabilities(self, labeling_task: str | None = None, *, run_id: str | None = None) -> pd.DataFrame:
        """Soft labels of the task's latest finished weak-supervision run (or of ``run_id``): one row per record with
        ``record_id``, the primary-key attributes, ``label`` (the written label, None on ties or below the run's
        ``min_confidence``; ``labels``, a list, for multi-label tasks), ``labeled`` (whether the model had evidence for
        the record) and one probability column per label name (``probability:<name>`` where a name would collide)."""
        if run_id is not None:
            path = self._p(f"/weak-supervision/runs/{run_id}/probabilities")
        else:
            path = self._p(f"/labeling-tasks/{self._task_id(labeling_task)}/weak-supervision/probabilities")
        rows: list[dict[str, Any]] = []
        with self._transport.stream("GET", path, params={"format": "jsonl"}) as response:
            with self._bar(desc="probabilities", unit=" records") as bar:
                for line in response.iter_lines():
                    if line.strip():
                        rows.append(json.loads(line))
                        bar.update(1)
        import pandas as pd

        flat = []
        for row in rows:
            probabilities = row.pop("probabilities")
            for name, value in probabilities.items():
                row[f"probability:{name}" if name in row else name] = value
            flat.append(row)
        return pd.DataFrame.from_records(flat)

    def get_heuristic_statistics(self, labeling_task: str | None = None, *, recompute: bool = False) -> pd.DataFrame:
        """Per heuristic and label: est. precision and recall, coverage, hits, conflicts, overlaps (against valid
        manual labels). ``recompute`` refreshes them first and waits."""
        task_id = self._task_id(labeling_task)
        if recompute:
            job = self._request("POST", self._p(f"/labeling-tasks/{task_id}/heuristic-statistics"))
            self.wait_for_job(job, desc="heuristic statistics")
        rows = self._request("GET", self._p(f"/labeling-tasks/{task_id}/heuristic-statistics"))
        import pandas as pd

        return pd.DataFrame.from_records(rows)
