"""The database the platform runs on: the embedded PostgreSQL (unless ``DATABASE_URL`` is set), backup and restore."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from shared_model.settings import Settings, get_settings

from .layout import Layout, say
from .processes import alive, running_services


def embedded_running(layout: Layout) -> bool:
    pid_file = layout.pgdata / "postmaster.pid"
    if not pid_file.exists():
        return False
    pid = read_pid_first_line(pid_file)
    return pid is not None and alive(pid)


def read_pid_first_line(path: Path) -> int | None:
    try:
        return int(path.read_text().splitlines()[0].strip())
    except (OSError, ValueError, IndexError):
        return None


def start_database(settings: Settings, layout: Layout) -> tuple[str, bool]:
    """The database URL and whether this call started the embedded PostgreSQL."""
    if settings.database_url:
        return settings.database_url, False
    from shared_model.embedded import ensure_embedded_postgres

    was_running = embedded_running(layout)
    if not was_running:
        say(f"starting the embedded PostgreSQL (data in {layout.pgdata})")
    url = ensure_embedded_postgres(layout.pgdata)
    layout.postgres_marker.write_text(json.dumps({"pgdata": str(layout.pgdata)}))
    return url, not was_running


def stop_database(layout: Layout) -> bool:
    from shared_model.embedded import stop_embedded_postgres

    pgdata = layout.pgdata
    if layout.postgres_marker.exists():
        try:
            pgdata = Path(json.loads(layout.postgres_marker.read_text())["pgdata"])
        except (OSError, ValueError, KeyError):
            pass
    stopped = stop_embedded_postgres(pgdata) if (pgdata / "postmaster.pid").exists() else False
    layout.postgres_marker.unlink(missing_ok=True)
    return stopped


def pg_tool(name: str) -> str:
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


def libpq_url(url: str) -> str:
    return url.replace("postgresql+psycopg2://", "postgresql://", 1)


def backup(target: Path) -> int:
    """Dump the database (custom format, ``pg_restore`` reads it) to ``target``; works while the platform runs."""
    settings = get_settings()
    layout = Layout.from_settings(settings)
    layout.run_dir.mkdir(parents=True, exist_ok=True)
    url, started = start_database(settings, layout)
    try:
        subprocess.run([pg_tool("pg_dump"), "--format=custom", f"--file={target}", libpq_url(url)], check=True)
    except (subprocess.CalledProcessError, FileNotFoundError) as exc:
        say(f"backup failed: {exc}")
        return 1
    finally:
        if started:
            stop_database(layout)
    say(
        f"database saved to {target} ({target.stat().st_size:,} bytes); ./stop, then restore it with: "
        f"python -m launcher restore {target}"
    )
    return 0


def empty_public_schema(url: str) -> None:
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
    url, started = start_database(settings, layout)
    try:
        empty_public_schema(url)
        command = [pg_tool("pg_restore"), "--no-owner", "--exit-on-error", f"--dbname={libpq_url(url)}", str(source)]
        subprocess.run(command, check=True)
    except (subprocess.CalledProcessError, FileNotFoundError, SQLAlchemyError) as exc:
        say(f"restore failed: {exc}")
        return 1
    finally:
        if started:
            stop_database(layout)
    say(f"database restored from {source}; ./start starts the platform")
    return 0
