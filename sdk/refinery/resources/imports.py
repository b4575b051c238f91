"""Data in: file uploads, snapshots, records posted in batches."""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import httpx

from ..exceptions import RefineryError

if TYPE_CHECKING:
    pass


from .base import RECORD_BATCH, ClientBase


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


class ImportsMixin(ClientBase):
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
