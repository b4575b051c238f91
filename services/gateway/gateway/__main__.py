"""Run the gateway service: ``python -m gateway`` (or ``python -m gateway serve``).

``python -m gateway ensure-admin`` creates the first admin when there is no user yet and prints one JSON line
``{"email": ..., "password": ...}`` (the password only when it was just created); the launcher runs it before any
service starts, so the rule for the first admin stays the gateway's.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence


def ensure_admin() -> int:
    from shared_model.db import session_scope

    from .domain.users import ensure_admin as create_first_admin

    with session_scope() as session:
        email, password = create_first_admin(session)
    sys.stdout.write(json.dumps({"email": email, "password": password}) + "\n")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gateway", description="The refinery gateway.")
    parser.add_argument("command", nargs="?", default="serve", choices=("serve", "ensure-admin"))
    args = parser.parse_args(argv)
    if args.command == "ensure-admin":
        return ensure_admin()
    from shared_model.service import serve

    from .app import create_app

    serve("gateway", create_app)
    return 0


if __name__ == "__main__":
    sys.exit(main())
