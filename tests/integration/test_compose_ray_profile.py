"""The compose profile ``ray`` (validated offline with ``docker-compose config``): a head and workers from the
executor's image plus Ray, each with exactly the executor's sandbox privileges, on the internal network only, started
as Ray nodes through the image's entrypoint (``python -m executor ray-node``); the executor can be pointed at it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def _config(*args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.skip("the docker-compose binary (Debian package docker-compose) is not installed")
    command = [binary, "-f", str(ROOT / "docker-compose.yml"), *args, "config"]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=60, cwd=ROOT, env={"PATH": "/usr/bin:/bin", **(env or {})}
    )
    assert result.returncode == 0, result.stderr
    loaded: dict[str, Any] = yaml.safe_load(result.stdout)
    return loaded


def test_the_ray_profile() -> None:
    services = _config("--profile", "ray")["services"]
    executor = services["executor"]
    assert executor["environment"]["REFINERY_RAY_ADDRESS"] == ""  # off unless set
    for name in ("ray-head", "ray-worker"):
        node = services[name]
        assert node["profiles"] == ["ray"]
        assert node["image"].startswith("refinery/executor-ray:")
        assert node["command"][0] == "ray-node"
        assert node["environment"]["REFINERY_SERVICE"] == "executor"  # the entrypoint prepares the sandbox
        assert node["environment"]["REFINERY_EXECUTOR_BACKEND"] == "bwrap"
        assert node["environment"]["DATABASE_URL"] == executor["environment"]["DATABASE_URL"]
        assert sorted(node["cap_add"]) == sorted(executor["cap_add"]) and node["cap_drop"] == ["ALL"]
        assert sorted(node["security_opt"]) == sorted(executor["security_opt"])
        assert set(node["networks"]) == {"internal"} and not node.get("ports")
        assert node["healthcheck"]["test"][:2] == ["CMD", "ray"]
    assert services["ray-head"]["build"]["dockerfile"] == "deploy/ray.Dockerfile"
    assert "--head" in services["ray-head"]["command"]
    assert "--address=ray-head:6379" in services["ray-worker"]["command"]
    assert services["ray-worker"]["depends_on"]["ray-head"]["condition"] == "service_healthy"
    pointed = _config("--profile", "ray", env={"REFINERY_RAY_ADDRESS": "ray-head:6379"})  # from the shell or .env
    assert pointed["services"]["executor"]["environment"]["REFINERY_RAY_ADDRESS"] == "ray-head:6379"
    dockerfile = (ROOT / "deploy" / "ray.Dockerfile").read_text()
    assert "FROM ${EXECUTOR_IMAGE}" in dockerfile and '"ray==2.60.*"' in dockerfile


def test_the_ray_node_entry_point_runs_ray_start(monkeypatch: pytest.MonkeyPatch) -> None:
    from executor import ray_cluster

    seen: list[Any] = []
    monkeypatch.setattr(ray_cluster.os, "execv", lambda path, argv: seen.append((path, argv)))
    ray_cluster.start_node(["--head", "--port=6379"])
    path, argv = seen[0]
    assert Path(path).name == "ray" and argv[1:] == ["start", "--block", "--disable-usage-stats", "--head", "--port=6379"]
