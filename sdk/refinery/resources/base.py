"""What every resource of the client builds on: the HTTP transport, the chosen project, progress bars, waiting for
jobs, and small value helpers."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from tqdm.auto import tqdm

from .._http import Transport
from ..exceptions import ConfigurationError, JobFailedError

DEFAULT_URI = "http://localhost:4455"
FINAL_JOB_STATES = {"done", "failed", "cancelled"}
RECORD_BATCH = 1000


class ClientBase:
    """The state and plumbing the resource mixins of :class:`refinery.Client` share."""

    uri: str
    progress: bool | None
    project_id: str | None
    user: dict[str, Any]
    _transport: Transport
    _project: dict[str, Any] | None

    if TYPE_CHECKING:  # implemented by one resource mixin, called by others (Client combines them all)

        def get_attributes(self) -> list[dict[str, Any]]: ...
        def get_primary_keys(self) -> list[str]: ...
        def get_lookup_lists(self) -> list[dict[str, Any]]: ...
        def use_project(self, project_id: str) -> dict[str, Any]: ...
        def iter_records(self, page_size: int = 1000) -> Iterator[dict[str, Any]]: ...
        def _task_id(self, task: str | None) -> str: ...
        def _record_ids_by_key(self) -> tuple[list[str], dict[tuple[str | None, ...], int]]: ...
        def _user_id(self, user: str) -> str: ...

    # --- plumbing ---------------------------------------------------------------------------------------------

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        return self._transport.request(method, path, **kwargs)

    def _pid(self) -> str:
        if not self.project_id:
            raise ConfigurationError("no project chosen: pass project_id or call use_project()")
        return self.project_id

    def _p(self, path: str = "") -> str:
        return f"/projects/{self._pid()}{path}"

    def _bar(self, iterable: Any = None, **kwargs: Any) -> Any:
        return tqdm(iterable, disable=None if self.progress is None else not self.progress, **kwargs)

    def wait_for_job(self, job: dict[str, Any] | str, *, desc: str = "job", timeout_s: float | None = None) -> dict[str, Any]:
        """Poll a job until it ends, showing its progress; the finished job, or :class:`JobFailedError` with its error."""
        job_id = job if isinstance(job, str) else str(job["id"])
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        delay = 0.05
        with self._bar(total=100, desc=desc, unit="%", bar_format="{l_bar}{bar}| {n:.0f}/{total} %") as bar:
            while True:
                state: dict[str, Any] = self._request("GET", f"/jobs/{job_id}")
                bar.update(max(0.0, float(state.get("progress") or 0.0) * 100 - bar.n))
                if state["state"] in FINAL_JOB_STATES:
                    break
                if deadline is not None and time.monotonic() > deadline:
                    raise JobFailedError(f"{desc} {job_id} still {state['state']} after {timeout_s} s", job=state)
                time.sleep(delay)
                delay = min(delay * 1.5, 1.0)
            if state["state"] == "done":
                bar.update(100 - bar.n)
        if state["state"] == "failed":
            raise JobFailedError(f"{desc} failed: {state.get('error') or state.get('message') or 'no reason given'}", job=state)
        if state["state"] == "cancelled":
            raise JobFailedError(f"{desc} was cancelled", job=state)
        return state


def _key(value: Any) -> str | None:
    return None if value is None else str(value)


def _plain(values: Iterable[Any]) -> Iterator[Any]:
    """JSON-ready values (numpy and pandas scalars become Python ones)."""
    for value in values:
        if hasattr(value, "item") and not isinstance(value, list | dict | str):
            yield value.item()
        elif isinstance(value, tuple):
            yield list(value)
        else:
            yield value
