"""Run the whole platform on this machine: ``python -m shared_model.platform start|stop|status``.

``./start`` and ``./stop`` are thin wrappers around this module. ``start`` brings up the embedded PostgreSQL (unless
``DATABASE_URL`` is set), migrates, makes sure an admin exists, starts every service as a background process (pid files
in ``<data_dir>/run``, logs in ``<data_dir>/logs``) and waits until each answers ``/health``. ``stop`` ends exactly the
processes whose pid files it finds (and the embedded PostgreSQL) and keeps the data.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy.exc import SQLAlchemyError

from .settings import SERVICE_NAMES, Settings, get_settings

DEFAULT_START_TIMEOUT_S = 180.0
STOP_GRACE_S = 20.0
LOG_TAIL_LINES = 30
INTERNAL_SERVICES = tuple(name for name in SERVICE_NAMES if name != "gateway")

# pgserver asks platformdirs for a runtime dir; without XDG_RUNTIME_DIR (root, CI) it warns but works.
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")


def say(message: str = "") -> None:
    """Print one line for the person running the script."""
    print(message, flush=True)  # noqa: T201


@dataclass(frozen=True)
class Layout:
    """Where the platform keeps its pid files, logs and embedded database."""

    data_dir: Path

    @property
    def run_dir(self) -> Path:
        return self.data_dir / "run"

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "postgres"

    @property
    def postgres_marker(self) -> Path:
        return self.run_dir / "postgres.json"

    def pid_file(self, service: str) -> Path:
        return self.run_dir / f"{service}.pid"

    def log_file(self, service: str) -> Path:
        return self.log_dir / f"{service}.log"

    @classmethod
    def from_settings(cls, settings: Settings) -> Layout:
        return cls(settings.data_dir.expanduser().resolve())


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _is_our_process(pid: int, service: str) -> bool:
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
        pid = _read_pid(layout.pid_file(name))
        if pid is not None and _is_our_process(pid, name):
            alive[name] = pid
    return alive


def _health(url: str) -> dict[str, object] | None:
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


def _local_url(settings: Settings, name: str) -> str:
    return f"http://127.0.0.1:{settings.service_port(name)}"


def _port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log written)"
    return "\n".join(text.splitlines()[-lines:]) or "(the log is empty)"


def _terminate(pids: dict[str, int], grace_s: float = STOP_GRACE_S) -> None:
    """SIGTERM each process group we started, wait, then SIGKILL what is left."""
    for pid in pids.values():
        _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    left = dict(pids)
    while left and time.monotonic() < deadline:
        left = {name: pid for name, pid in left.items() if _alive(pid)}
        if left:
            time.sleep(0.2)
    for pid in left.values():
        _signal_group(pid, signal.SIGKILL)


def _signal_group(pid: int, sig: signal.Signals) -> None:
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


def _alive(pid: int) -> bool:
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


# --------------------------------------------------------------------------------------------------------- database


def _embedded_running(layout: Layout) -> bool:
    pid_file = layout.pgdata / "postmaster.pid"
    if not pid_file.exists():
        return False
    pid = _read_pid_first_line(pid_file)
    return pid is not None and _alive(pid)


def _read_pid_first_line(path: Path) -> int | None:
    try:
        return int(path.read_text().splitlines()[0].strip())
    except (OSError, ValueError, IndexError):
        return None


def _start_database(settings: Settings, layout: Layout) -> tuple[str, bool]:
    """The database URL and whether this call started the embedded PostgreSQL."""
    if settings.database_url:
        return settings.database_url, False
    from .embedded import ensure_embedded_postgres

    was_running = _embedded_running(layout)
    if not was_running:
        say(f"starting the embedded PostgreSQL (data in {layout.pgdata})")
    url = ensure_embedded_postgres(layout.pgdata)
    layout.postgres_marker.write_text(json.dumps({"pgdata": str(layout.pgdata)}))
    return url, not was_running


def _stop_database(layout: Layout) -> bool:
    from .embedded import stop_embedded_postgres

    pgdata = layout.pgdata
    if layout.postgres_marker.exists():
        try:
            pgdata = Path(json.loads(layout.postgres_marker.read_text())["pgdata"])
        except (OSError, ValueError, KeyError):
            pass
    stopped = stop_embedded_postgres(pgdata) if (pgdata / "postmaster.pid").exists() else False
    layout.postgres_marker.unlink(missing_ok=True)
    return stopped


def _ensure_admin() -> tuple[str, str | None]:
    """Create the first admin (the gateway's rule) before any service starts; the password only if just created."""
    from .db import session_scope

    users = importlib.import_module("gateway.domain.users")
    with session_scope() as session:
        email, password = users.ensure_admin(session)
    return str(email), password


# ------------------------------------------------------------------------------------------------------------ start


def _spawn(name: str, layout: Layout, env: dict[str, str]) -> int:
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


def _wait_healthy(settings: Settings, layout: Layout, pids: dict[str, int], timeout_s: float) -> tuple[str, str] | None:
    """Wait until every service in ``pids`` is healthy; return (service, reason) of the first failure."""
    pending = dict(pids)
    deadline = time.monotonic() + timeout_s
    while pending:
        for name, pid in list(pending.items()):
            if not _alive(pid):
                return name, "exited before it became healthy"
            body = _health(_local_url(settings, name))
            if body is not None and body.get("status") == "ok":
                say(f"  {name:<16} healthy  (pid {pid}, port {settings.service_port(name)})")
                del pending[name]
            elif body is not None and body.get("status") == "degraded" and body.get("database") == "ok":
                # It runs but cannot do everything (e.g. the executor without a sandbox): start, and say why.
                say(f"  {name:<16} DEGRADED (pid {pid}, port {settings.service_port(name)}): {body.get('reason')}")
                del pending[name]
        if pending and time.monotonic() > deadline:
            name = sorted(pending)[0]
            return name, f"did not become healthy within {timeout_s:.0f} s"
        if pending:
            time.sleep(0.5)
    return None


def start(timeout_s: float = DEFAULT_START_TIMEOUT_S) -> int:
    """Start the platform; 0 when it is up (or already was), 1 when a part failed (what this call started is stopped)."""
    settings = get_settings()
    layout = Layout.from_settings(settings)
    gateway_url = f"http://localhost:{settings.gateway_port}"
    layout.run_dir.mkdir(parents=True, exist_ok=True)
    layout.log_dir.mkdir(parents=True, exist_ok=True)

    alive = running_services(layout)
    if len(alive) == len(SERVICE_NAMES):
        say(f"refinery is already up: {gateway_url}  (./stop stops it)")
        return 0
    if alive:
        say(f"partly up ({', '.join(sorted(alive))} running); starting the rest")

    missing = [name for name in SERVICE_NAMES if name not in alive]
    for name in missing:
        layout.pid_file(name).unlink(missing_ok=True)
        port = settings.service_port(name)
        if _port_in_use(port):
            say(
                f"refinery cannot start: port {port} of the {name} service is used by another program "
                f"(free it or set REFINERY_{name.upper()}_PORT)"
            )
            return 1

    try:
        url, started_database = _start_database(settings, layout)
    except Exception as exc:  # noqa: BLE001 - report any failure of the database start plainly
        say(f"refinery cannot start: the embedded PostgreSQL did not start: {exc}")
        say(f"its log: {layout.pgdata / 'log'}")
        say(_tail(layout.pgdata / "log"))
        return 1

    os.environ["DATABASE_URL"] = url
    os.environ["REFINERY_DATABASE_URL"] = url
    os.environ["REFINERY_DATA_DIR"] = str(layout.data_dir)
    get_settings.cache_clear()
    settings = get_settings()

    try:
        from .migrate import upgrade

        upgrade(url)
        email, password = _ensure_admin()
    except Exception as exc:  # noqa: BLE001 - report and undo
        say(f"refinery cannot start: preparing the database failed: {exc}")
        if started_database:
            _stop_database(layout)
        return 1
    if password:
        say(f"created the admin: login {email}  password {password}  (shown only this once)")

    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    started: dict[str, int] = {}
    say(f"starting {', '.join(missing)}")
    for name in missing:
        started[name] = _spawn(name, layout, env)

    failure = _wait_healthy(settings, layout, started, timeout_s)
    if failure is not None:
        name, reason = failure
        log_path = layout.log_file(name)
        say(f"refinery failed to start: the {name} service {reason}.")
        say(f"last lines of {log_path}:")
        say(_tail(log_path))
        say("stopping what this start started")
        _terminate(started)
        for service in started:
            layout.pid_file(service).unlink(missing_ok=True)
        if started_database and not alive:
            _stop_database(layout)
        return 1

    (layout.run_dir / "platform.json").write_text(
        json.dumps(
            {
                "url": gateway_url,
                "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "ports": {name: settings.service_port(name) for name in SERVICE_NAMES},
                "embedded_postgres": layout.postgres_marker.exists(),
            },
            indent=2,
        )
    )
    say(f"refinery is up: {gateway_url}   (API docs {gateway_url}/api/docs, logs in {layout.log_dir}, ./stop stops it)")
    return 0


# ------------------------------------------------------------------------------------------------------------- stop


def stop() -> int:
    """Stop every service whose pid file names a live process, then the embedded PostgreSQL; data stays."""
    settings = get_settings()
    layout = Layout.from_settings(settings)
    alive = running_services(layout)
    for name in SERVICE_NAMES:
        if name not in alive and layout.pid_file(name).exists():
            layout.pid_file(name).unlink(missing_ok=True)
    if alive:
        _terminate(alive)
        for name, pid in alive.items():
            layout.pid_file(name).unlink(missing_ok=True)
            say(f"stopped {name} (pid {pid})")
    database_stopped = False
    if not settings.database_url or layout.postgres_marker.exists():
        database_stopped = _stop_database(layout)
        if database_stopped:
            say(f"stopped the embedded PostgreSQL (data kept in {layout.pgdata})")
    (layout.run_dir / "platform.json").unlink(missing_ok=True)
    if not alive and not database_stopped:
        say("refinery is not running")
    return 0


def status() -> int:
    """Print which services run and whether they are healthy; 0 when all are up and healthy."""
    settings = get_settings()
    layout = Layout.from_settings(settings)
    alive = running_services(layout)
    healthy = 0
    for name in SERVICE_NAMES:
        pid = alive.get(name)
        body = _health(_local_url(settings, name)) if pid else None
        state = "stopped" if pid is None else (str(body.get("status")) if body else "not answering")
        healthy += state == "ok"
        say(f"{name:<16} {state:<14} {'pid ' + str(pid) if pid else '':<10} port {settings.service_port(name)}")
    return 0 if healthy == len(SERVICE_NAMES) else 1


# ------------------------------------------------------------------------------------------------ backup / restore


def _pg_tool(name: str) -> str:
    """A PostgreSQL client program: the embedded server's own (same version) first, else the one on PATH."""
    try:
        from pgserver._commands import POSTGRES_BIN_PATH

        candidate = Path(POSTGRES_BIN_PATH) / name
        if candidate.exists():
            return str(candidate)
    except ImportError:
        pass
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name} is not installed")
    return found


def _libpq_url(url: str) -> str:
    return url.replace("postgresql+psycopg2://", "postgresql://", 1)


def backup(target: Path) -> int:
    """Dump the database (custom format, ``pg_restore`` reads it) to ``target``; works while the platform runs."""
    settings = get_settings()
    layout = Layout.from_settings(settings)
    layout.run_dir.mkdir(parents=True, exist_ok=True)
    url, started = _start_database(settings, layout)
    try:
        subprocess.run([_pg_tool("pg_dump"), "--format=custom", f"--file={target}", _libpq_url(url)], check=True)
    except (subprocess.CalledProcessError, FileNotFoundError) as exc:
        say(f"backup failed: {exc}")
        return 1
    finally:
        if started:
            _stop_database(layout)
    say(
        f"database saved to {target} ({target.stat().st_size:,} bytes); ./stop, then restore it with: "
        f"python -m shared_model.platform restore {target}"
    )
    return 0


def _empty_public_schema(url: str) -> None:
    """Drop everything in the ``public`` schema, so the restored database holds exactly the backup."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()


def restore(source: Path) -> int:
    """Replace the database's contents with a dump made by :func:`backup`; the services must be stopped."""
    settings = get_settings()
    layout = Layout.from_settings(settings)
    if running_services(layout):
        say("restore needs the services stopped: run ./stop first")
        return 1
    if not source.is_file():
        say(f"restore: {source} does not exist")
        return 1
    layout.run_dir.mkdir(parents=True, exist_ok=True)
    url, started = _start_database(settings, layout)
    try:
        _empty_public_schema(url)
        command = [_pg_tool("pg_restore"), "--no-owner", "--exit-on-error", f"--dbname={_libpq_url(url)}", str(source)]
        subprocess.run(command, check=True)
    except (subprocess.CalledProcessError, FileNotFoundError, SQLAlchemyError) as exc:
        say(f"restore failed: {exc}")
        return 1
    finally:
        if started:
            _stop_database(layout)
    say(f"database restored from {source}; ./start starts the platform")
    return 0


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared_model.platform", description="Start, stop or inspect refinery.")
    commands = parser.add_subparsers(dest="command", required=True)
    start_cmd = commands.add_parser("start", help="start every service in the background and wait until healthy")
    start_cmd.add_argument(
        "--timeout",
        type=float,
        default=float(os.environ.get("REFINERY_START_TIMEOUT_S", DEFAULT_START_TIMEOUT_S)),
        help="seconds to wait for all services to become healthy (env REFINERY_START_TIMEOUT_S)",
    )
    commands.add_parser("stop", help="stop what start started, the embedded PostgreSQL included; data stays")
    commands.add_parser("status", help="show which services run and whether they are healthy")
    backup_cmd = commands.add_parser("backup", help="dump the database to a file (pg_dump, custom format)")
    backup_cmd.add_argument("file", type=Path)
    restore_cmd = commands.add_parser("restore", help="replace the database's contents with a backup (services stopped)")
    restore_cmd.add_argument("file", type=Path)
    args = parser.parse_args(list(argv) if argv is not None else None)
    if args.command == "start":
        return start(args.timeout)
    if args.command == "stop":
        return stop()
    if args.command == "backup":
        return backup(args.file.resolve())
    if args.command == "restore":
        return restore(args.file.resolve())
    return status()


if __name__ == "__main__":
    sys.exit(main())
