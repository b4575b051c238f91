"""The service processes the launcher starts: pid files, liveness, health, signals."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from shared_model.settings import SERVICE_NAMES, Settings

from .layout import Layout

STOP_GRACE_S = 20.0
LOG_TAIL_LINES = 30


def read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def is_our_process(pid: int, service: str) -> bool:
    """Whether ``pid`` is alive and is ``python -m <service>`` (guards against a recycled pid)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False
    cmdline = Path(f"/proc/{pid}/cmdline")
    if not cmdline.exists():  # no procfs: trust the live pid
        return True
    try:
        args = cmdline.read_bytes().split(b"\0")
    except OSError:
        return False
    return b"-m" in args and service.encode() in args


def running_services(layout: Layout) -> dict[str, int]:
    """The services whose pid file names a live process of that service."""
    alive: dict[str, int] = {}
    for name in SERVICE_NAMES:
        pid = read_pid(layout.pid_file(name))
        if pid is not None and is_our_process(pid, name):
            alive[name] = pid
    return alive


def health(url: str) -> dict[str, object] | None:
    try:
        response = httpx.get(f"{url}/health", timeout=2.0)
    except httpx.HTTPError:
        return None
    if response.status_code != 200:
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def local_url(settings: Settings, name: str) -> str:
    return f"http://127.0.0.1:{settings.service_port(name)}"


def port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log written)"
    return "\n".join(text.splitlines()[-lines:]) or "(the log is empty)"


def terminate(pids: dict[str, int], grace_s: float = STOP_GRACE_S) -> None:
    """SIGTERM each process group we started, wait, then SIGKILL what is left."""
    for pid in pids.values():
        signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    left = dict(pids)
    while left and time.monotonic() < deadline:
        left = {name: pid for name, pid in left.items() if alive(pid)}
        if left:
            time.sleep(0.2)
    for pid in left.values():
        signal_group(pid, signal.SIGKILL)


def signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        if hasattr(os, "killpg"):
            os.killpg(pid, sig)  # each service leads its own session (start_new_session)
        else:  # pragma: no cover - Windows runs the platform with docker compose
            os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def alive(pid: int) -> bool:
    try:
        os.waitpid(pid, os.WNOHANG)  # reap our own child if it is one
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    stat = Path(f"/proc/{pid}/stat")
    if stat.exists():
        try:
            return stat.read_text().split(") ", 1)[1][0] != "Z"
        except (OSError, IndexError):
            return True
    return True


def spawn(name: str, layout: Layout, env: dict[str, str]) -> int:
    log_path = layout.log_file(name)
    with log_path.open("ab") as log:
        log.write(f"\n--- {datetime.now(UTC).isoformat(timespec='seconds')} starting {name}\n".encode())
        log.flush()
        process = subprocess.Popen(
            [sys.executable, "-m", name],
            cwd=Path.cwd(),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    layout.pid_file(name).write_text(f"{process.pid}\n")
    return process.pid
