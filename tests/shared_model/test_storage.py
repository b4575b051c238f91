"""Object storage: the local folder backend and the S3 backend against moto's S3 server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from shared_model.settings import Settings
from shared_model.storage import LocalStorage, ObjectStorage, S3Storage, StorageError, storage_from_settings


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStorage:
    if request.param == "local":
        return LocalStorage(tmp_path / "objects")
    endpoint = request.getfixturevalue("moto_endpoint")
    return S3Storage(endpoint, "testing", "testing", f"bucket-{tmp_path.name[-20:].lower().replace('_', '-')}")


def test_put_get_list_delete(storage: ObjectStorage) -> None:
    storage.put("a/b/one.bin", b"1")
    storage.put("a/b/two.bin", b"22")
    storage.put("a/c.bin", b"333")
    storage.put("a/b/one.bin", b"replaced")
    assert storage.get("a/b/one.bin") == b"replaced"
    assert storage.list("a/b/") == ["a/b/one.bin", "a/b/two.bin"]
    assert storage.list() == ["a/b/one.bin", "a/b/two.bin", "a/c.bin"]
    assert storage.exists("a/c.bin") and not storage.exists("a/missing.bin")
    assert storage.delete_prefix("a/b/") == 2
    assert storage.list() == ["a/c.bin"]
    storage.delete("a/c.bin")
    storage.delete("a/c.bin")  # absent: no error
    assert storage.list() == []


def test_missing_object_and_bad_key(storage: ObjectStorage) -> None:
    with pytest.raises(StorageError, match="does not exist"):
        storage.get("nothing/here.bin")
    for bad in ("../escape", "/abs", "a//b", "a/./b", ""):
        with pytest.raises(StorageError, match="invalid storage key"):
            storage.put(bad, b"x")


def test_arrays_round_trip(storage: ObjectStorage) -> None:
    ids = np.arange(5, dtype=np.int64)
    vectors = np.random.default_rng(0).normal(size=(5, 8)).astype(np.float32)
    storage.put_arrays("emb/chunk.npz", record_ids=ids, vectors=vectors)
    back = storage.get_arrays("emb/chunk.npz")
    assert np.array_equal(back["record_ids"], ids)
    assert np.array_equal(back["vectors"], vectors) and back["vectors"].dtype == np.float32


def test_settings_choose_backend(tmp_path: Path, moto_endpoint: str) -> None:
    local = storage_from_settings(Settings(data_dir=tmp_path))
    assert isinstance(local, LocalStorage) and local.root == tmp_path / "objects"
    s3 = storage_from_settings(
        Settings(data_dir=tmp_path, s3_endpoint=moto_endpoint, s3_access_key="k", s3_secret_key="s", s3_bucket="chosen")
    )
    assert isinstance(s3, S3Storage) and s3.bucket == "chosen"
    s3.put("x.bin", b"x")
    assert s3.list() == ["x.bin"]
