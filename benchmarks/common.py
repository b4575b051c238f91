"""What the benchmark scripts share: free ports, starting a service process, sampling its memory.

The scripts run from this folder (``.venv/bin/python benchmarks/<name>.py``), so ``from common import …`` finds it.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_service(
    name: str, env: dict[str, str], log_path: Path, timeout_s: float = 180.0
) -> tuple[subprocess.Popen[bytes], str]:
    """Start ``python -m <name>`` on a free port with ``env`` (complete) and wait until ``/health`` answers 200."""
    port = free_port()
    env = {**env, f"REFINERY_{name.upper()}_PORT": str(port), "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", name], cwd=ROOT, env=env, stdout=log_path.open("wb"), stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout_s
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            process.terminate()
            raise RuntimeError(f"{name} did not become healthy in {timeout_s} s:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.2)


class RssSampler(threading.Thread):
    """Samples a process's resident set size (children included) until stopped; keeps the peak."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.process = psutil.Process(pid)
        self.peak = 0
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.is_set():
            try:
                rss = self.process.memory_info().rss + sum(c.memory_info().rss for c in self.process.children(recursive=True))
            except psutil.Error:
                break
            self.peak = max(self.peak, rss)
            self.halt.wait(0.05)
