"""``shared_model.ray_connect.connect``: a connection that the Ray Client head aborts (it failed to start the client's
server process, as seen in the container suite's profile ``ray``) is tried again; other errors and the last try's are
raised. Ray itself is replaced here by a stand-in module whose ``init`` fails as told: what is tested is the retry."""

from __future__ import annotations

import sys
import types
from typing import Any

import pytest

from shared_model import ray_connect


class FakeRay(types.ModuleType):
    def __init__(self, failures: list[BaseException]) -> None:
        super().__init__("ray")
        self.failures = failures
        self.inits: list[dict[str, Any]] = []
        self.shutdowns = 0
        self.connected = False

    def is_initialized(self) -> bool:
        return self.connected

    def init(self, **kwargs: Any) -> None:
        self.inits.append(kwargs)
        if self.failures:
            raise self.failures.pop(0)
        self.connected = True

    def shutdown(self) -> None:
        self.shutdowns += 1


@pytest.fixture
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    slept: list[float] = []
    monkeypatch.setattr(ray_connect.time, "sleep", slept.append)
    return slept


def test_an_aborted_connection_is_tried_again(monkeypatch: pytest.MonkeyPatch, no_sleep: list[float]) -> None:
    aborted = ConnectionAbortedError("Initialization failure from server: Starting Ray client server failed.")
    fake = FakeRay([aborted])
    monkeypatch.setitem(sys.modules, "ray", fake)
    monkeypatch.setenv("REFINERY_RAY_MIN_RECORDS", "1")
    assert ray_connect.connect("ray://head:10001") is fake
    assert len(fake.inits) == 2 and fake.shutdowns == 1 and no_sleep == [2.0]
    assert fake.inits[1]["address"] == "ray://head:10001"
    assert fake.inits[1]["runtime_env"]["env_vars"]["REFINERY_RAY_MIN_RECORDS"] == "1"
    ray_connect.connect("ray://head:10001")  # connected: once per process
    assert len(fake.inits) == 2


def test_the_last_failure_and_other_errors_are_raised(monkeypatch: pytest.MonkeyPatch, no_sleep: list[float]) -> None:
    fake = FakeRay([ConnectionRefusedError("no head") for _ in range(3)])
    monkeypatch.setitem(sys.modules, "ray", fake)
    with pytest.raises(ConnectionRefusedError, match="no head"):
        ray_connect.connect("ray://head:10001")
    assert len(fake.inits) == 3 and no_sleep == [2.0, 4.0]
    fake = FakeRay([ValueError("a bad address")])
    monkeypatch.setitem(sys.modules, "ray", fake)
    with pytest.raises(ValueError, match="a bad address"):
        ray_connect.connect("nonsense")
    assert len(fake.inits) == 1
