"""Start real service processes (``python -m <service>``) for tests that talk HTTP between services."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from shared_model.service.secret import SERVICE_SECRET_HEADER, service_secret
from shared_model.settings import SERVICE_NAMES, get_settings

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServiceProcess:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    settings: dict[str, str] = field(default_factory=dict)  # the REFINERY_* settings it was started with

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def headers(self) -> dict[str, str]:
        """What a direct call to this internal service must carry (the gateway sends the same)."""
        return {SERVICE_SECRET_HEADER: service_secret()}

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()


# Settings that say where the services' shared files are: services that run together must agree on them.
SHARED_SETTINGS = ("REFINERY_DATA_DIR", "REFINERY_STORAGE", "REFINERY_S3", "REFINERY_QDRANT")


def _shared(settings: dict[str, str]) -> dict[str, str]:
    return {key: value for key, value in settings.items() if key.startswith(SHARED_SETTINGS)}


@dataclass
class ServicePool:
    """Starts each service once per test run on a free port and points the settings (``REFINERY_<NAME>_URL``) at it."""

    log_dir: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    running: dict[str, ServiceProcess] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Every service's port is fixed up front, so a service started early still knows where the others will be.
        self.ports = {name: free_port() for name in SERVICE_NAMES}

    def urls(self) -> dict[str, str]:
        """``REFINERY_<NAME>_URL`` of every service (started or not)."""
        return {f"REFINERY_{name.upper()}_URL": f"http://127.0.0.1:{port}" for name, port in self.ports.items()}

    def settings(self) -> dict[str, str]:
        """The REFINERY_* settings a service started now gets (not its own port nor the services' URLs)."""
        merged = {**os.environ, **self.extra_env}
        return {
            key: value for key, value in merged.items() if key.startswith("REFINERY_") and not key.endswith(("_URL", "_PORT"))
        }

    def start(self, name: str, timeout_s: float = 120.0) -> ServiceProcess:
        """Start the service, or keep it when it runs. A running service whose data folder or storage settings differ
        from today's (a test changed REFINERY_DATA_DIR, say) is restarted, this one or any other: services that share
        files must agree on where they are (an embedder writing chunks where neural search does not look for them
        failed every embedding of the UI tests)."""
        wanted = self.settings()
        shared = _shared(wanted)
        for other, service in list(self.running.items()):
            if other != name and service.process.poll() is None and _shared(service.settings) != shared:
                self.stop(other)
                self.start(other, timeout_s)
        if name in self.running and self.running[name].process.poll() is None:
            if _shared(self.running[name].settings) == shared:
                return self.running[name]
            self.stop(name)
        port = self.ports[name]
        env = {**os.environ, "REFINERY_SERVICE_SECRET": service_secret(), **self.extra_env}
        env.update({f"REFINERY_{name.upper()}_PORT": str(port), "PYTHONUNBUFFERED": "1"})
        env.update(self.urls())
        log_path = self.log_dir / f"{name}.log"
        handle = log_path.open("ab")  # appended: a restart keeps what the service logged before it
        handle.write(f"--- {name} started at {time.strftime('%H:%M:%S')} on port {port}\n".encode())
        handle.flush()
        process = subprocess.Popen([sys.executable, "-m", name], cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT)
        service = ServiceProcess(name, port, process, log_path, wanted)
        deadline = time.monotonic() + timeout_s
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}:\n{service.log_tail()}")
            try:
                if httpx.get(f"{service.url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                service.stop()
                raise RuntimeError(f"{name} did not become healthy in {timeout_s} s:\n{service.log_tail()}")
            time.sleep(0.2)
        self.running[name] = service
        os.environ[f"REFINERY_{name.upper()}_URL"] = service.url
        get_settings.cache_clear()
        return service

    def stop(self, name: str) -> None:
        """Stop one service if it runs (the next ``start`` starts it again, with the environment of that moment)."""
        service = self.running.pop(name, None)
        if service is not None:
            service.stop()

    def stop_all(self) -> None:
        for service in self.running.values():
            service.stop()
        self.running.clear()
