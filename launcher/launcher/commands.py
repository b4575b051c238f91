"""``start``, ``stop`` and ``status`` of the whole platform on this machine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime

from shared_model.service.secret import ensure_secret_file
from shared_model.settings import SERVICE_NAMES, Settings, get_settings

from .database import start_database, stop_database
from .layout import Layout, say
from .processes import alive, health, local_url, port_in_use, running_services, spawn, tail, terminate

DEFAULT_START_TIMEOUT_S = 180.0
ADMIN_TIMEOUT_S = 120.0


def ensure_admin(env: dict[str, str]) -> tuple[str, str | None]:
    """Have the gateway create the first admin (``python -m gateway ensure-admin``); the password only if just created.

    The rule (who is the first admin, where the password comes from) is the gateway's: the launcher only runs its
    command line and reads the one JSON line it prints.
    """
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "ensure-admin"],
        env=env,
        capture_output=True,
        text=True,
        timeout=ADMIN_TIMEOUT_S,
        stdin=subprocess.DEVNULL,
    )
    if result.returncode != 0:
        raise RuntimeError(f"'python -m gateway ensure-admin' failed: {(result.stderr or result.stdout).strip()[-2000:]}")
    lines = result.stdout.strip().splitlines()
    try:
        answer = json.loads(lines[-1])
    except (IndexError, ValueError) as exc:
        raise RuntimeError(f"'python -m gateway ensure-admin' printed no JSON: {result.stdout[-500:]!r}") from exc
    password = answer.get("password")
    return str(answer["email"]), str(password) if password else None


def wait_healthy(settings: Settings, layout: Layout, pids: dict[str, int], timeout_s: float) -> tuple[str, str] | None:
    """Wait until every service in ``pids`` is healthy; return (service, reason) of the first failure."""
    pending = dict(pids)
    deadline = time.monotonic() + timeout_s
    while pending:
        for name, pid in list(pending.items()):
            if not alive(pid):
                return name, "exited before it became healthy"
            body = health(local_url(settings, name))
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

    running = running_services(layout)
    if len(running) == len(SERVICE_NAMES):
        say(f"refinery is already up: {gateway_url}  (./stop stops it)")
        return 0
    if running:
        say(f"partly up ({', '.join(sorted(running))} running); starting the rest")

    missing = [name for name in SERVICE_NAMES if name not in running]
    for name in missing:
        layout.pid_file(name).unlink(missing_ok=True)
        port = settings.service_port(name)
        if port_in_use(port):
            say(
                f"refinery cannot start: port {port} of the {name} service is used by another program "
                f"(free it or set REFINERY_{name.upper()}_PORT)"
            )
            return 1

    try:
        url, started_database = start_database(settings, layout)
    except Exception as exc:  # noqa: BLE001 - report any failure of the database start plainly
        say(f"refinery cannot start: the embedded PostgreSQL did not start: {exc}")
        say(f"its log: {layout.pgdata / 'log'}")
        say(tail(layout.pgdata / "log"))
        return 1

    os.environ["DATABASE_URL"] = url
    os.environ["REFINERY_DATABASE_URL"] = url
    os.environ["REFINERY_DATA_DIR"] = str(layout.data_dir)
    # Generated on the first start (mode 0600 in the data folder); every service gets it in its environment.
    os.environ["REFINERY_SERVICE_SECRET"] = settings.service_secret or ensure_secret_file(layout.data_dir)
    get_settings.cache_clear()
    settings = get_settings()

    try:
        from shared_model.migrate import upgrade

        upgrade(url)
        email, password = ensure_admin(dict(os.environ))
    except Exception as exc:  # noqa: BLE001 - report and undo
        say(f"refinery cannot start: preparing the database failed: {exc}")
        if started_database:
            stop_database(layout)
        return 1
    if password:
        say(f"created the admin: login {email}  password {password}  (shown only this once)")

    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    started: dict[str, int] = {}
    say(f"starting {', '.join(missing)}")
    for name in missing:
        started[name] = spawn(name, layout, env)

    failure = wait_healthy(settings, layout, started, timeout_s)
    if failure is not None:
        name, reason = failure
        log_path = layout.log_file(name)
        say(f"refinery failed to start: the {name} service {reason}.")
        say(f"last lines of {log_path}:")
        say(tail(log_path))
        say("stopping what this start started")
        terminate(started)
        for service in started:
            layout.pid_file(service).unlink(missing_ok=True)
        if started_database and not running:
            stop_database(layout)
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
    running = running_services(layout)
    for name in SERVICE_NAMES:
        if name not in running and layout.pid_file(name).exists():
            layout.pid_file(name).unlink(missing_ok=True)
    if running:
        terminate(running)
        for name, pid in running.items():
            layout.pid_file(name).unlink(missing_ok=True)
            say(f"stopped {name} (pid {pid})")
    database_stopped = False
    if not settings.database_url or layout.postgres_marker.exists():
        database_stopped = stop_database(layout)
        if database_stopped:
            say(f"stopped the embedded PostgreSQL (data kept in {layout.pgdata})")
    (layout.run_dir / "platform.json").unlink(missing_ok=True)
    if not running and not database_stopped:
        say("refinery is not running")
    return 0


def status() -> int:
    """Print which services run and whether they are healthy; 0 when all are up and healthy."""
    settings = get_settings()
    layout = Layout.from_settings(settings)
    running = running_services(layout)
    healthy = 0
    for name in SERVICE_NAMES:
        pid = running.get(name)
        body = health(local_url(settings, name)) if pid else None
        state = "stopped" if pid is None else (str(body.get("status")) if body else "not answering")
        healthy += state == "ok"
        say(f"{name:<16} {state:<14} {'pid ' + str(pid) if pid else '':<10} port {settings.service_port(name)}")
    return 0 if healthy == len(SERVICE_NAMES) else 1
