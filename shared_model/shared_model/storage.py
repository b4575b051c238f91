"""Object storage for large artifacts (embedding vectors, fitted models): one interface, two backends.

* :class:`S3Storage` — the ``minio`` client against MinIO or any S3 endpoint (``REFINERY_S3_ENDPOINT`` set).
* :class:`LocalStorage` — a folder under ``data_dir/objects`` (the embedded default).

Keys are ``/``-separated relative paths (``embeddings/<id>/chunks/000001.npz``). Writes are atomic: a reader
sees the old object or the new one, never a partial one.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from .settings import Settings, get_settings

_KEY = re.compile(r"^[A-Za-z0-9_.=-]+(/[A-Za-z0-9_.=-]+)*$")


class StorageError(Exception):
    """An object is missing or a key is malformed."""


def check_key(key: str) -> str:
    """Return ``key`` if it is a safe relative key; raise :class:`StorageError` naming the problem otherwise."""
    if not _KEY.match(key) or any(part in (".", "..") for part in key.split("/")):
        raise StorageError(f"invalid storage key {key!r}: use letters, digits, '_', '-', '.', '=' and '/' separators")
    return key


class ObjectStorage(ABC):
    """Put, get, list and delete byte objects by key."""

    @abstractmethod
    def put(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key`` (replacing an existing object)."""

    @abstractmethod
    def get(self, key: str) -> bytes:
        """The object's bytes; :class:`StorageError` if it does not exist."""

    @abstractmethod
    def exists(self, key: str) -> bool:
        """Whether an object is stored under ``key``."""

    @abstractmethod
    def list(self, prefix: str = "") -> list[str]:
        """Keys starting with ``prefix``, sorted."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove one object (no error if it is absent)."""

    def delete_prefix(self, prefix: str) -> int:
        """Remove every object under ``prefix``; return how many were removed."""
        keys = self.list(prefix)
        for key in keys:
            self.delete(key)
        return len(keys)

    def put_arrays(self, key: str, **arrays: Any) -> None:
        """Store numpy arrays as one ``.npz`` object."""
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        self.put(key, buffer.getvalue())

    def get_arrays(self, key: str) -> dict[str, np.ndarray]:
        """Read the arrays stored by :meth:`put_arrays`."""
        with np.load(io.BytesIO(self.get(key)), allow_pickle=False) as data:
            return {name: data[name] for name in data.files}


class LocalStorage(ObjectStorage):
    """Objects as files under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return path.read_bytes()
        except FileNotFoundError as exc:
            raise StorageError(f"object {key!r} does not exist") from exc

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def list(self, prefix: str = "") -> list[str]:
        keys = []
        folder = prefix.rsplit("/", 1)[0] if "/" in prefix else ""  # walk only below the prefix's folder
        base = self.root / check_key(folder) if folder else self.root
        if not base.is_dir():
            return []
        for path in base.rglob("*"):
            if path.is_file() and not path.name.startswith(".tmp-"):
                key = path.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    keys.append(key)
        return sorted(keys)

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


class S3Storage(ObjectStorage):
    """Objects in an S3 bucket through the ``minio`` client (the bucket is created when missing)."""

    def __init__(self, endpoint: str, access_key: str, secret_key: str, bucket: str, *, secure: bool = False) -> None:
        from minio import Minio

        host = re.sub(r"^https?://", "", endpoint).rstrip("/")
        secure = secure or endpoint.startswith("https://")
        self.client = Minio(host, access_key=access_key or None, secret_key=secret_key or None, secure=secure)
        self.bucket = bucket
        if not self.client.bucket_exists(bucket):
            self.client.make_bucket(bucket)

    def put(self, key: str, data: bytes) -> None:
        self.client.put_object(self.bucket, check_key(key), io.BytesIO(data), length=len(data))

    def get(self, key: str) -> bytes:
        from minio.error import S3Error

        try:
            response = self.client.get_object(self.bucket, check_key(key))
        except S3Error as exc:
            if exc.code in ("NoSuchKey", "NoSuchObject"):
                raise StorageError(f"object {key!r} does not exist") from exc
            raise
        try:
            return response.read()
        finally:
            response.close()
            response.release_conn()

    def exists(self, key: str) -> bool:
        from minio.error import S3Error

        try:
            self.client.stat_object(self.bucket, check_key(key))
            return True
        except S3Error as exc:
            if exc.code in ("NoSuchKey", "NoSuchObject", "NotFound"):
                return False
            raise

    def list(self, prefix: str = "") -> list[str]:
        objects = self.client.list_objects(self.bucket, prefix=prefix, recursive=True)
        return sorted(obj.object_name for obj in objects if obj.object_name)

    def delete(self, key: str) -> None:
        self.client.remove_object(self.bucket, check_key(key))


def storage_from_settings(settings: Settings) -> ObjectStorage:
    """The backend the settings choose: S3 when ``s3_endpoint`` is set, else the local folder."""
    if settings.s3_endpoint:
        return S3Storage(
            settings.s3_endpoint, settings.s3_access_key, settings.s3_secret_key, settings.s3_bucket, secure=settings.s3_secure
        )
    return LocalStorage(Path(settings.data_dir) / "objects")


@lru_cache
def get_storage() -> ObjectStorage:
    """The process-wide object storage (cached; ``get_storage.cache_clear()`` after changing settings)."""
    return storage_from_settings(get_settings())


class EmbeddingArtifacts:
    """Where an embedding's artifacts live in object storage (written by the embedder, read by neural search).

    ``embeddings/<id>/chunks/<seq>.npz`` holds ``record_ids`` (int64) and ``vectors`` (float32; token-level chunks
    add ``token_counts`` and hold one row per token). A chunk counts once its ``<seq>.done`` marker exists, so a
    chunk interrupted half-way is simply written again. ``encoder.pkl`` / ``pca.pkl`` keep fitted models.
    """

    def __init__(self, storage: ObjectStorage, embedding_id: Any) -> None:
        self.storage = storage
        self.prefix = f"embeddings/{embedding_id}"

    def chunk_key(self, seq: int) -> str:
        return f"{self.prefix}/chunks/{seq:06d}.npz"

    def done_chunks(self) -> list[str]:
        """Keys of the completed chunks, in write order."""
        keys = self.storage.list(f"{self.prefix}/chunks/")
        done = {key[: -len(".done")] for key in keys if key.endswith(".done")}
        return [key for key in keys if key.endswith(".npz") and key[: -len(".npz")] in done]

    def mark_done(self, key: str) -> None:
        self.storage.put(key[: -len(".npz")] + ".done", b"")

    def next_seq(self) -> int:
        keys = [k for k in self.storage.list(f"{self.prefix}/chunks/") if k.endswith(".npz")]
        return 1 + max((int(k.rsplit("/", 1)[1].split(".")[0]) for k in keys), default=0)

    def load_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """All record ids and attribute-level vectors of the completed chunks."""
        ids: list[np.ndarray] = []
        vectors: list[np.ndarray] = []
        for key in self.done_chunks():
            arrays = self.storage.get_arrays(key)
            ids.append(arrays["record_ids"])
            vectors.append(arrays["vectors"])
        if not ids:
            return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
        return np.concatenate(ids), np.concatenate(vectors)

    def delete(self) -> int:
        return self.storage.delete_prefix(f"{self.prefix}/")


class WeakSupervisionArtifacts:
    """Per-class probabilities of a task's weak-supervision runs (written by the weak supervisor, read by the gateway).

    ``weak-supervision/<project>/<task>/<run>.npz`` holds ``record_ids`` (int64), ``proba`` (float64, one column per
    label in ``label_ids`` order), ``labeled`` (bool per row: the model gives the row a label; otherwise it has no
    evidence), ``assigned`` (bool per row and label: the label was written — not on ties or below ``min_confidence``)
    and ``label_ids`` (the labels' uuids as text). Only the task's latest finished run keeps its file.
    """

    def __init__(self, storage: ObjectStorage, project_id: Any, task_id: Any | None = None) -> None:
        self.storage = storage
        project_prefix = f"weak-supervision/{project_id}/"
        self.prefix = f"{project_prefix}{task_id}/" if task_id is not None else project_prefix

    def key(self, run_id: Any) -> str:
        return f"{self.prefix}{run_id}.npz"

    def write(
        self,
        run_id: Any,
        record_ids: np.ndarray,
        proba: np.ndarray,
        labeled: np.ndarray,
        assigned: np.ndarray,
        label_ids: list[Any],
    ) -> str:
        """Store one run's probabilities; returns the key."""
        key = self.key(run_id)
        self.storage.put_arrays(
            key,
            record_ids=np.asarray(record_ids, dtype=np.int64),
            proba=np.asarray(proba, dtype=np.float64),
            labeled=np.asarray(labeled, dtype=bool),
            assigned=np.asarray(assigned, dtype=bool),
            label_ids=np.asarray([str(x) for x in label_ids], dtype="U36"),
        )
        return key

    def read(self, run_id: Any) -> dict[str, np.ndarray] | None:
        """A run's arrays, or None when it has no file (never written, or superseded by a later run)."""
        try:
            return self.storage.get_arrays(self.key(run_id))
        except StorageError:
            return None

    def keep_only(self, run_id: Any, unfinished: Iterable[Any] = ()) -> int:
        """Remove the files of the task's other runs except ``unfinished`` ones (a run still going keeps its file, so
        two concurrent runs never delete each other's); returns how many were removed."""
        keep = {self.key(run_id), *(self.key(other) for other in unfinished)}
        stale = [key for key in self.storage.list(self.prefix) if key not in keep]
        for key in stale:
            self.storage.delete(key)
        return len(stale)

    def delete(self) -> int:
        """Remove every file under this project (or task)."""
        return self.storage.delete_prefix(self.prefix)
