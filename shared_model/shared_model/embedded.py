"""The embedded PostgreSQL (pgserver) used when no ``DATABASE_URL`` is configured."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path


def ensure_embedded_postgres(pgdata: Path) -> str:
    """Start (or reuse) the embedded Postgres whose data lives in ``pgdata``; return its SQLAlchemy URL.

    The server keeps running after this process exits; ``stop_embedded_postgres`` stops it.
    """
    import pgserver  # optional dependency: only the embedded default needs it

    pgdata = pgdata.resolve()
    pgdata.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(pgdata, cleanup_mode=None)
    uri: str = server.get_uri()
    return uri.replace("postgresql://", "postgresql+psycopg2://", 1)


def stop_embedded_postgres(pgdata: Path) -> bool:
    """Stop the embedded Postgres in ``pgdata`` if it runs; return whether one was stopped."""
    pgdata = pgdata.resolve()
    pid_file = pgdata / "postmaster.pid"
    if not pid_file.exists():
        return False
    from pgserver import _commands  # the bundled pg_ctl wrapper (runs as its own user when root)

    user = "pgserver" if hasattr(os, "geteuid") and os.geteuid() == 0 else None
    try:
        _commands.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user)  # type: ignore[attr-defined]
    except subprocess.CalledProcessError:
        return False
    (pgdata / ".handle_pids.json").unlink(missing_ok=True)
    return True
