"""The compose profile ``ray`` (validated offline with ``docker-compose config``): a head and workers from
deploy/Dockerfile's target ``ray-node`` (the executor's image with the tokenizer's and embedder's code), each with
exactly the executor's sandbox privileges, on the internal network only, started as Ray nodes through the image's
entrypoint (``python -m executor ray-node``); every image holds Ray (the same version on drivers and nodes), and the
executor, the tokenizer and the embedder can be pointed at the head's Ray Client port."""

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
    for name in ("ray-head", "ray-worker"):
        node = services[name]
        assert node["profiles"] == ["ray"]
        assert node["image"].startswith("refinery/ray-node:")
        assert node["command"][0] == "ray-node"
        assert node["environment"]["REFINERY_SERVICE"] == "executor"  # the entrypoint prepares the sandbox
        assert node["environment"]["REFINERY_EXECUTOR_BACKEND"] == "bwrap"
        assert node["environment"]["DATABASE_URL"] == executor["environment"]["DATABASE_URL"]
        assert sorted(node["cap_add"]) == sorted(executor["cap_add"]) and node["cap_drop"] == ["ALL"]
        assert sorted(node["security_opt"]) == sorted(executor["security_opt"])
        assert set(node["networks"]) == {"internal"} and not node.get("ports")
        assert node["healthcheck"]["test"][:2] == ["CMD", "ray"]
    head_build = services["ray-head"]["build"]
    assert head_build["dockerfile"] == "deploy/Dockerfile" and head_build["target"] == "ray-node"
    assert head_build["args"]["SERVICE"] == "executor"
    assert "--head" in services["ray-head"]["command"] and "--ray-client-server-port=10001" in services["ray-head"]["command"]
    assert "--address=ray-head:6379" in services["ray-worker"]["command"]
    assert services["ray-worker"]["depends_on"]["ray-head"]["condition"] == "service_healthy"
    for driver in ("executor", "tokenizer", "embedder"):
        assert services[driver]["environment"]["REFINERY_RAY_ADDRESS"] == ""  # off unless set
        assert services[driver]["environment"]["DATABASE_URL"] == executor["environment"]["DATABASE_URL"]
    pointed = _config("--profile", "ray", env={"REFINERY_RAY_ADDRESS": "ray://ray-head:10001"})  # from the shell or .env
    for driver in ("executor", "tokenizer", "embedder"):
        assert pointed["services"][driver]["environment"]["REFINERY_RAY_ADDRESS"] == "ray://ray-head:10001"
    # the tokenizer's and embedder's jobs use Ray from REFINERY_RAY_MIN_RECORDS records (the setting's default unless set)
    for driver in ("tokenizer", "embedder"):
        assert services[driver]["environment"]["REFINERY_RAY_MIN_RECORDS"] == "20000"
        assert pointed["services"][driver]["environment"]["REFINERY_RAY_MIN_RECORDS"] == "20000"
    low = _config("--profile", "ray", env={"REFINERY_RAY_MIN_RECORDS": "1"})["services"]
    assert (
        low["tokenizer"]["environment"]["REFINERY_RAY_MIN_RECORDS"]
        == low["embedder"]["environment"]["REFINERY_RAY_MIN_RECORDS"]
        == "1"
    )
    from shared_model.settings import Settings

    assert Settings.model_fields["ray_min_records"].default == 20_000  # the compose default is the setting's
    local = _config("-f", str(ROOT / "docker-compose.local.yml"), "--profile", "ray")["services"]  # no Docker Hub
    assert local["ray-head"]["build"]["args"]["BASE_IMAGE"] == local["executor"]["build"]["args"]["BASE_IMAGE"]
    assert local["ray-head"]["build"]["args"]["SERVICE"] == "executor"
    for name in ("ray-head", "ray-worker"):
        assert local[name]["environment"]["REFINERY_S3_ENDPOINT"] == local["executor"]["environment"]["REFINERY_S3_ENDPOINT"]
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    # Ray in the shared layers of every image (drivers and nodes need the same version), before any service's code
    assert dockerfile.index('ARG RAY_REQUIREMENT="ray[client]==2.60.0"') < dockerfile.index("\nARG SERVICE\n")
    node_stage = dockerfile[dockerfile.index("FROM service AS ray-node") :].split("\nFROM ")[0]
    assert "COPY services/tokenizer/" in node_stage and "COPY services/embedder/" in node_stage
    assert "/app/services/executor:/app/services/tokenizer:/app/services/embedder" in node_stage


def test_the_ray_node_entry_point_runs_ray_start(monkeypatch: pytest.MonkeyPatch) -> None:
    from executor import ray_cluster

    seen: list[Any] = []
    monkeypatch.setattr(ray_cluster.os, "execv", lambda path, argv: seen.append((path, argv)))
    ray_cluster.start_node(["--head", "--port=6379"])
    path, argv = seen[0]
    assert Path(path).name == "ray" and argv[1:] == ["start", "--block", "--disable-usage-stats", "--head", "--port=6379"]
