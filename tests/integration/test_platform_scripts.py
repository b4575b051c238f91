"""``./start`` and ``./stop`` end to end: real processes, real HTTP, the test database, a private data dir and ports.

The scripts run with ``REFINERY_SKIP_INSTALL=1`` so a pyproject edited while the suite runs does not make them reinstall
the venv under the running tests (``./test`` itself runs the install routine before pytest).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import socket
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
import yaml

from shared_model.service import SERVICE_SECRET_HEADER
from shared_model.settings import DEFAULT_PORTS, SERVICE_NAMES

from ..service_processes import ServicePool

ROOT = Path(__file__).resolve().parents[2]
RAY_NODES = ("ray-head", "ray-worker")  # the compose profile "ray": nodes that run the executor's sandbox
pytestmark = pytest.mark.integration


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _processes_of(data_dir: Path) -> list[psutil.Process]:
    """Live processes started for this data dir (the platform passes REFINERY_DATA_DIR to every service)."""
    found = []
    for process in psutil.process_iter():
        try:
            if process.environ().get("REFINERY_DATA_DIR") == str(data_dir) and process.status() != psutil.STATUS_ZOMBIE:
                found.append(process)
        except (psutil.Error, OSError):
            continue
    return found


class Platform:
    def __init__(self, tmp_path: Path, database_url: str) -> None:
        self.data_dir = (tmp_path / "data").resolve()
        self.ports = dict(zip(SERVICE_NAMES, _free_ports(len(SERVICE_NAMES)), strict=True))
        env = {key: value for key, value in os.environ.items() if not (key.startswith("REFINERY_") and key.endswith("_URL"))}
        env.pop("REFINERY_SERVICE_SECRET", None)  # the first start generates it in the data folder
        env.update(
            {
                "DATABASE_URL": database_url,
                "REFINERY_DATABASE_URL": database_url,
                "REFINERY_DATA_DIR": str(self.data_dir),
                "REFINERY_SKIP_INSTALL": "1",
                "REFINERY_UI_BUILD": "0",  # the UI's build is ./test's (and tests/ui's) business, not these tests'
                "REFINERY_GATEWAY_HOST": "127.0.0.1",
            }
        )
        env.update({f"REFINERY_{name.upper()}_PORT": str(port) for name, port in self.ports.items()})
        self.env = env

    @property
    def health_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['gateway']}/api/v1/health"

    def run(
        self, script: str, *args: str, extra_env: dict[str, str] | None = None, timeout: float = 240
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(ROOT / script), *args],
            cwd=ROOT,
            env={**self.env, **(extra_env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )

    def pid(self, name: str) -> int:
        return int((self.data_dir / "run" / f"{name}.pid").read_text())


@pytest.fixture()
def platform(tmp_path: Path, database_url: str, services: ServicePool) -> Iterator[Platform]:
    # The platform's services claim jobs from the test database; the session's service pool (started by earlier
    # tests, same database) would race them for every job (a run claimed by the pool's executor has no Ray). The pool
    # starts them again on its next use.
    services.stop_all()
    started = Platform(tmp_path, database_url)
    yield started
    started.run("stop", timeout=60)
    for process in _processes_of(started.data_dir):  # never leave a process behind, even when a test failed
        process.kill()


def test_start_health_restart_and_stop(platform: Platform) -> None:
    """One full start (they are costly): healthy, idempotent, a dead service shows in /api/v1/health, stop ends all."""
    result = platform.run("start")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "refinery is up" in result.stdout
    pids = {name: platform.pid(name) for name in SERVICE_NAMES}
    assert all(psutil.pid_exists(pid) for pid in pids.values())
    assert sorted(path.name for path in (platform.data_dir / "logs").iterdir()) == sorted(f"{name}.log" for name in SERVICE_NAMES)

    # The gateway aggregates every service's /health.
    response = httpx.get(platform.health_url, timeout=10)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["services"]) == set(SERVICE_NAMES)
    assert all(service["status"] == "ok" and service["database"] == "ok" for service in body["services"].values())

    # The first start generated the service secret (mode 0600); internal services refuse calls without it.
    secret_file = platform.data_dir / "service_secret"
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    tokenizer = f"http://127.0.0.1:{platform.ports['tokenizer']}/validate_tokenizer"
    assert httpx.post(tokenizer, json={"tokenizer": "en"}, timeout=10).status_code == 401
    secret = {SERVICE_SECRET_HEADER: secret_file.read_text().strip()}
    assert httpx.post(tokenizer, json={"tokenizer": "en"}, headers=secret, timeout=30).status_code == 200

    # Starting again changes nothing.
    again = platform.run("start")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "already up" in again.stdout
    assert {name: platform.pid(name) for name in SERVICE_NAMES} == pids

    # A stopped service is reported as unreachable and the platform as 503.
    os.kill(pids["executor"], signal.SIGTERM)
    deadline = time.monotonic() + 20
    while psutil.pid_exists(pids["executor"]) and time.monotonic() < deadline:
        time.sleep(0.2)
    response = httpx.get(platform.health_url, timeout=10)
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    assert body["services"]["executor"]["status"] == "unreachable"
    assert all(body["services"][name]["status"] == "ok" for name in SERVICE_NAMES if name != "executor")

    # ./start brings back only what is missing.
    restarted = platform.run("start")
    assert restarted.returncode == 0, restarted.stdout + restarted.stderr
    assert "starting executor" in restarted.stdout
    assert platform.pid("gateway") == pids["gateway"]
    assert httpx.get(platform.health_url, timeout=10).status_code == 200

    # ./stop ends every process and removes the pid files; a second ./stop has nothing to do.
    stopped = platform.run("stop", timeout=60)
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    for name in SERVICE_NAMES:
        assert f"stopped {name}" in stopped.stdout
    assert not _processes_of(platform.data_dir)
    assert not list((platform.data_dir / "run").glob("*.pid"))
    with pytest.raises(httpx.HTTPError):
        httpx.get(platform.health_url, timeout=2)
    assert "not running" in platform.run("stop", timeout=60).stdout


def test_failed_start_names_the_service_shows_its_log_and_stops_what_it_started(platform: Platform) -> None:
    # No service can answer /health within a tenth of a second of being spawned: the start must fail and clean up.
    result = platform.run("start", extra_env={"REFINERY_START_TIMEOUT_S": "0.1"})
    assert result.returncode == 1
    assert "refinery failed to start: the " in result.stdout
    failed = result.stdout.split("refinery failed to start: the ", 1)[1].split(" service", 1)[0]
    assert failed in SERVICE_NAMES
    assert f"last lines of {platform.data_dir / 'logs' / (failed + '.log')}" in result.stdout
    assert not list((platform.data_dir / "run").glob("*.pid"))
    deadline = time.monotonic() + 30
    while _processes_of(platform.data_dir) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _processes_of(platform.data_dir)


def test_start_refuses_a_port_in_use_and_names_it(platform: Platform) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", platform.ports["tokenizer"]))
        blocker.listen()
        result = platform.run("start")
    assert result.returncode == 1
    assert f"port {platform.ports['tokenizer']} of the tokenizer service" in result.stdout
    assert not _processes_of(platform.data_dir)


def test_the_local_compose_override_replaces_docker_hub_images() -> None:
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.skip("the docker-compose binary (Debian package docker-compose) is not installed")
    files = ["-f", str(ROOT / "docker-compose.yml"), "-f", str(ROOT / "docker-compose.local.yml")]
    result = subprocess.run([binary, *files, "config"], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    assert services["postgres"]["image"] == "refinery/postgres-base:bookworm"
    assert [volume.split(":")[0] for volume in services["postgres"]["volumes"]] == ["postgres15-data"]
    # Qdrant and MinIO are not run at all (a profile never enabled): the services use their in-process stores.
    assert services["qdrant"]["profiles"] == ["docker-hub"] and services["minio"]["profiles"] == ["docker-hub"]
    for name in SERVICE_NAMES:
        assert services[name]["build"]["args"]["BASE_IMAGE"] == "refinery/python-base:bookworm"
        assert services[name]["environment"]["REFINERY_QDRANT_URL"] == ""
        assert services[name]["environment"]["REFINERY_S3_ENDPOINT"] == ""
        assert set(services[name].get("depends_on", {})) <= {"postgres", *SERVICE_NAMES}


def test_docker_compose_file_is_valid() -> None:
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.skip("the docker-compose binary (Debian package docker-compose) is not installed")
    command = [binary, "-f", str(ROOT / "docker-compose.yml"), "config"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load(result.stdout)
    services = config["services"]
    assert {"postgres", "qdrant", "minio", *SERVICE_NAMES} <= set(services)
    for name in ("postgres", "qdrant", "minio", *SERVICE_NAMES):
        assert services[name].get("healthcheck", {}).get("test"), f"{name} has no health check"
    for name in SERVICE_NAMES:
        # One parametrised Dockerfile for every service.
        assert services[name]["build"]["dockerfile"] == "deploy/Dockerfile"
        assert services[name]["build"]["args"]["SERVICE"] == name
        assert services[name]["build"]["target"] == ("gateway" if name == "gateway" else "service")
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgresql://") and "@postgres:" in env["DATABASE_URL"]
        assert env["REFINERY_INTERNAL_HOST"] == "0.0.0.0"
    gateway_env = services["gateway"]["environment"]
    for name in SERVICE_NAMES:
        if name != "gateway":
            assert gateway_env[f"REFINERY_{name.upper()}_URL"] == f"http://{name}:{DEFAULT_PORTS[name]}"
    published = [str(port.get("published")) if isinstance(port, dict) else str(port) for port in services["gateway"]["ports"]]
    assert any("4455" in port for port in published)
    # No container gets the Docker socket; only the executor gets a privilege (for its sandbox, dropped at start), and
    # the Ray nodes of the profile "ray" (the same sandbox inside each node).
    assert not [name for name, spec in services.items() if "docker.sock" in str(spec.get("volumes", []))]
    assert not [name for name, spec in services.items() if spec.get("privileged")]
    sandboxed = ("executor", *RAY_NODES)
    assert {name: sorted(spec["cap_add"]) for name, spec in services.items() if spec.get("cap_add")} == {
        name: ["SETGID", "SETPCAP", "SETUID", "SYS_ADMIN"] for name in sandboxed if name in services
    }
    for name in SERVICE_NAMES:
        assert services[name]["cap_drop"] == ["ALL"], name
        assert "no-new-privileges:true" in services[name]["security_opt"], name
    assert not [name for name in services if name not in sandboxed and services[name].get("user") not in (None, "10001")]
    # Only the gateway is published; everything else sits on the internal network and requires the service secret.
    assert config["networks"]["internal"]["internal"] is True
    for name in ("postgres", "qdrant", "minio", *SERVICE_NAMES):
        assert set(services[name]["networks"]) == ({"public", "internal"} if name == "gateway" else {"internal"}), name
        assert name == "gateway" or not services[name].get("ports"), f"{name} publishes a port"
    for name in SERVICE_NAMES:
        assert "REFINERY_SERVICE_SECRET" in services[name]["environment"]


def test_the_image_health_check_knows_every_service_port() -> None:
    spec = importlib.util.spec_from_file_location("docker_healthcheck", ROOT / "deploy" / "healthcheck.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.DEFAULT_PORTS == DEFAULT_PORTS
