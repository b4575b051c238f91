"""Start, stop or inspect refinery on this machine: ``python -m launcher start|stop|status|backup|restore``."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable
from pathlib import Path

from .commands import DEFAULT_START_TIMEOUT_S, start, status, stop
from .database import backup, restore


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m launcher", description="Start, stop or inspect refinery.")
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
