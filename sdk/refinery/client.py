"""The refinery client: projects, data in and out, labeling tasks, manual labels, heuristics and weak supervision."""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
import uuid
import warnings
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import httpx
from tqdm.auto import tqdm

from ._http import Transport
from .browser import Browser
from .exceptions import ConfigurationError, JobFailedError, NotFoundError, RefineryError

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_URI = "http://localhost:4455"
FINAL_JOB_STATES = {"done", "failed", "cancelled"}
RECORD_BATCH = 1000


class _ProgressReader:
    """A binary file whose reads advance a progress bar (httpx reads upload files in chunks)."""

    def __init__(self, handle: IO[bytes], bar: Any) -> None:
        self._handle = handle
        self._bar = bar

    def read(self, size: int = -1) -> bytes:
        chunk = self._handle.read(size)
        self._bar.update(len(chunk))
        return chunk

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._handle.seek(offset, whence)

    def tell(self) -> int:
        return self._handle.tell()


class Client:
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
        try:
            content = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigurationError(f"secrets file {path} does not exist") from None
        except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ConfigurationError(f"cannot read secrets file {path}: {exc}") from None
        if not isinstance(content, dict):
            raise ConfigurationError(f"secrets file {path} must hold a JSON object")
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

    # --- account and projects ---------------------------------------------------------------------------------

    def create_api_token(self, name: str, expires_in_days: int | None = None) -> dict[str, Any]:
        """Create a personal API token; its secret (``token``) is only in this answer."""
        body: dict[str, Any] = {"name": name}
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

    # --- data out ---------------------------------------------------------------------------------------------

    def iter_export(self, num_samples: int | None = None) -> Iterator[dict[str, Any]]:
        """The export's records one by one (streamed JSON lines, the original's export fields)."""
        total = self._request("GET", self._p()).get("record_count")
        if num_samples is not None:
            total = min(total or num_samples, num_samples)
        with self._transport.stream("GET", self._p("/export"), params={"format": "jsonl"}) as response:
            with self._bar(total=total, desc="export", unit=" records") as bar:
                count = 0
                for line in response.iter_lines():
                    if not line.strip():
                        continue
                    if num_samples is not None and count >= num_samples:
                        break
                    yield json.loads(line)
                    count += 1
                    bar.update(1)

    def download_export(self, path: str | os.PathLike[str], fmt: str = "json") -> Path:
        """Stream the export to a file (``json`` as the original, ``jsonl`` or ``csv``) with a progress bar."""
        target = Path(path)
        partial = target.with_name(target.name + ".part")
        with self._transport.stream("GET", self._p("/export"), params={"format": fmt}) as response:
            with partial.open("wb") as out, self._bar(desc=f"pull {target.name}", unit="B", unit_scale=True) as bar:
                for chunk in response.iter_bytes():
                    out.write(chunk)
                    bar.update(len(chunk))
        partial.replace(target)
        return target

    def get_record_export(
        self,
        num_samples: int | None = None,
        download_to: str | os.PathLike[str] | None = None,
        tokenize: bool = True,
        keep_attributes: Sequence[str] | None = None,
        dropna: bool = False,
    ) -> pd.DataFrame:
        """The project's export as a DataFrame: attributes, then per labeling task ``{attr}__{task}__MANUAL``,
        ``…__WEAK_SUPERVISION`` and ``…__WEAK_SUPERVISION__confidence``.

        ``num_samples``: only the first n records. ``tokenize``: add ``{attr}__tokenized`` spaCy Docs for each TEXT
        attribute with the project's tokenizer (needs spaCy; a pipeline package that is not installed falls back to a
        blank pipeline of its language). ``keep_attributes``: only these columns. ``dropna``: drop rows with a missing
        value in the kept columns. ``download_to``: also write the frame there as JSON records (before tokenizing).
        """
        import pandas as pd  # imported on use: the command line starts faster without it

        frame = pd.DataFrame.from_records(list(self.iter_export(num_samples)))
        if keep_attributes is not None:
            missing = [c for c in keep_attributes if c not in frame.columns]
            if missing and len(frame):
                raise RefineryError(f"keep_attributes names columns the export lacks: {', '.join(missing)}")
            frame = frame[[c for c in keep_attributes if c in frame.columns]]
        if dropna:
            frame = frame.dropna().reset_index(drop=True)
        if download_to is not None:
            frame.to_json(download_to, orient="records", force_ascii=False)
        if tokenize and len(frame):
            self._tokenize(frame)
        return frame

    def _tokenize(self, frame: pd.DataFrame) -> None:
        text_attributes = [a["name"] for a in self.get_attributes() if a["data_type"] == "TEXT" and a["name"] in frame.columns]
        if not text_attributes:
            return
        try:
            import spacy
        except ImportError:
            warnings.warn("tokenize=True needs spaCy (pip install 'refinery-sdk[spacy]'); data left untokenized", stacklevel=3)
            return
        package = str((self._project or self._request("GET", self._p())).get("tokenizer") or "en")
        if spacy.util.is_package(package):
            nlp = spacy.load(package)
        else:
            language = package.split("_")[0]
            nlp = spacy.blank(language)
        import numpy as np
        import pandas as pd

        for name in text_attributes:
            texts = frame[name].fillna("").astype(str).tolist()
            docs = np.empty(len(texts), dtype=object)  # Docs are sequences: keep pandas from unpacking them
            for i, doc in enumerate(self._bar(nlp.pipe(texts), total=len(texts), desc=f"tokenize {name}")):
                docs[i] = doc
            frame[f"{name}__tokenized"] = pd.Series(docs, index=frame.index, dtype=object)

    def iter_records(self, page_size: int = 1000) -> Iterator[dict[str, Any]]:
        """Every record (``id`` and ``data``) in id order, page by page."""
        after: int | None = None
        while True:
            params: dict[str, Any] = {"limit": page_size}
            if after is not None:
                params["after"] = after
            page = self._request("GET", self._p("/records"), params=params)
            yield from page["items"]
            after = page.get("next_after")
            if after is None:
                return

    # --- data browser (refinery.browser) ---------------------------------------------------------------------

    @property
    def browser(self) -> Browser:
        """Search with filters, slices, labeling sessions, bulk labels and metrics of the current project."""
        return Browser(self)

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

    # --- data in ----------------------------------------------------------------------------------------------

    def post_file_import(self, path: str | os.PathLike[str], import_file_options: str | None = None) -> dict[str, Any]:
        """Upload a JSON, JSONL, CSV or XLSX file and wait for the import job; the finished job (truthy).

        Columns named ``attr__task`` (``__task`` for the whole record) become classification tasks with manual labels.
        Raises :class:`BadRequestError`/:class:`ConflictError` for a file the server refuses at once, and
        :class:`JobFailedError` with the server's reason when the import job fails (nothing is written then).
        ``import_file_options`` is accepted for compatibility and ignored (the server infers the format).
        """
        source = Path(path)
        if not source.is_file():
            raise RefineryError(f"file {source} does not exist")
        size = source.stat().st_size
        with source.open("rb") as handle, self._bar(total=size, desc=f"upload {source.name}", unit="B", unit_scale=True) as bar:
            reader = _ProgressReader(handle, bar)
            job = self._request("POST", self._p("/upload"), files={"file": (source.name, reader, "application/octet-stream")})
        return self.wait_for_job(job, desc=f"import {source.name}")

    def import_snapshot(self, path: str | os.PathLike[str], name: str | None = None) -> dict[str, Any]:
        """Import a project snapshot (the original refinery's project export, .zip or .json) as a new project, wait
        for the job and switch this client to the new project; the finished job (its ``result`` lists what was
        imported and skipped). :class:`JobFailedError` names a content problem (no project is left behind then)."""
        source = Path(path)
        if not source.is_file():
            raise RefineryError(f"file {source} does not exist")
        with source.open("rb") as handle:
            job = self._request(
                "POST",
                "/projects/import",
                files={"file": (source.name, handle, "application/octet-stream")},
                data={"name": name} if name else None,
            )
        finished = self.wait_for_job(job, desc=f"import {source.name}")
        self.use_project(str(finished["result"]["project_id"]))  # its details too (tokenizer, attributes)
        return finished

    def export_snapshot(self, path: str | os.PathLike[str]) -> Path:
        """Download the project as a snapshot (the original refinery's project export: a zip holding one JSON file)
        to ``path`` (a file, or an existing folder: then the server's file name, ``<project name>.zip``); returns the
        file's path. :meth:`import_snapshot` reads it back as a new project. The server builds the zip before the first
        byte, so this waits without a read timeout."""
        target = Path(path)
        with self._transport.stream("GET", self._p("/snapshot"), timeout=httpx.Timeout(None, connect=10.0)) as response:
            if target.is_dir():
                found = re.search(r'filename="([^"]+)"', response.headers.get("content-disposition", ""))
                target = target / Path(found.group(1) if found else "snapshot.zip").name
            partial = target.with_name(target.name + ".part")
            size = int(response.headers.get("content-length") or 0) or None
            try:
                with (
                    partial.open("wb") as out,
                    self._bar(desc=f"snapshot {target.name}", total=size, unit="B", unit_scale=True) as bar,
                ):
                    for chunk in response.iter_bytes():
                        out.write(chunk)
                        bar.update(len(chunk))
            except BaseException:
                partial.unlink(missing_ok=True)
                raise
        partial.replace(target)
        return target

    def post_records(self, records: Iterable[dict[str, Any]], batch_size: int = RECORD_BATCH) -> int:
        """Add records (dicts of attribute values; ``attr__task`` keys are manual labels) in batches of ``batch_size``,
        each one import job; returns how many were added."""
        batch: list[dict[str, Any]] = []
        total = 0
        for record in records:
            batch.append(record)
            if len(batch) >= batch_size:
                total += self._post_batch(batch)
                batch = []
        if batch:
            total += self._post_batch(batch)
        return total

    def _post_batch(self, batch: list[dict[str, Any]]) -> int:
        with tempfile.TemporaryDirectory(prefix="refinery-sdk-") as folder:
            path = Path(folder) / "records.jsonl"
            with path.open("w", encoding="utf-8") as out:
                for record in batch:
                    out.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
            self.post_file_import(path)
        return len(batch)

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
