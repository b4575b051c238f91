"""``rsdk``: log in, list projects, pull a project's export, push a file of records.

Exit codes: 0 ok, 1 other error, 2 usage, 3 wrong credentials or token, 4 unknown project (or other object),
5 server unreachable, 6 rejected request (bad file), 7 failed server job, 8 server error, 9 missing settings,
130 interrupted. Errors are one line on stderr: ``rsdk: <reason>``.
"""

from __future__ import annotations

import argparse
import getpass
import socket
import sys
import uuid
from pathlib import Path
from typing import Any

from .client import DEFAULT_URI, Client
from .exceptions import ConfigurationError, NotFoundError, RefineryError
from .settings import default_settings_path, find_settings, load_settings, save_settings


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _connect(settings: dict[str, Any], *, progress: bool | None = None) -> Client:
    return Client(
        user_name=settings.get("user_name"),
        password=settings.get("password"),
        uri=settings.get("uri") or DEFAULT_URI,
        api_token=settings.get("api_token"),
        progress=progress,
    )


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _choose_project(client: Client, wanted: str | None, settings: dict[str, Any]) -> dict[str, Any]:
    """The project named by ``--project`` (id or name) or the settings' ``project_id``."""
    target = wanted or settings.get("project_id")
    if not target:
        raise ConfigurationError("no project: pass --project ID or set project_id (rsdk login --project ID)")
    if not _is_uuid(str(target)):
        matches = [p for p in client.list_projects() if p["name"] == target]
        if not matches:
            raise NotFoundError(f"no project named {target!r} (see 'rsdk projects')", status=404)
        if len(matches) > 1:
            raise RefineryError(f"{len(matches)} projects are named {target!r}; pass the id")
        target = str(matches[0]["id"])
    return client.use_project(str(target))


def cmd_login(args: argparse.Namespace) -> int:
    path = Path(args.settings) if args.settings else default_settings_path()
    uri = args.uri or DEFAULT_URI
    if args.token:
        client = Client(api_token=args.token, uri=uri, progress=False)
        settings: dict[str, Any] = {"uri": uri, "api_token": args.token}
    else:
        user = args.user or input("email: ")
        password = args.password if args.password is not None else getpass.getpass("password: ")
        client = Client(user, password, uri=uri, progress=False)
        if args.store_password:
            settings = {"uri": uri, "user_name": user, "password": password}
        else:
            token = client.create_api_token(f"rsdk on {socket.gethostname()}"[:200])
            settings = {"uri": uri, "api_token": token["token"]}
    if args.project:
        settings["project_id"] = _choose_project(client, args.project, {})["id"]
    client.close()
    save_settings(path, settings)
    _say(f"logged in to {uri} as {client.user['email']}; settings written to {path}")
    return 0


def cmd_projects(args: argparse.Namespace) -> int:
    settings = load_settings(find_settings(args.settings))
    with _connect(settings, progress=False) as client:
        projects = client.list_projects()
    current = str(settings.get("project_id") or "")
    if not projects:
        _say("no projects")
    for project in projects:
        mark = "*" if str(project["id"]) == current else " "
        _say(f"{mark} {project['id']}  {project['name']}  ({project.get('record_count') or 0} records)")
    return 0


def cmd_pull(args: argparse.Namespace) -> int:
    settings = load_settings(find_settings(args.settings))
    with _connect(settings, progress=False if args.quiet else None) as client:
        project = _choose_project(client, args.project, settings)
        name = f"{project['name']}.{args.format}"
        out = Path(args.out) if args.out else Path.cwd() / name
        if out.is_dir():
            out = out / name
        client.download_export(out, fmt=args.format)
    _say(f"pulled {project.get('record_count') or 0} records of {project['name']!r} to {out}")
    return 0


def cmd_push(args: argparse.Namespace) -> int:
    settings = load_settings(find_settings(args.settings))
    with _connect(settings, progress=False if args.quiet else None) as client:
        project = _choose_project(client, args.project, settings)
        job = client.post_file_import(args.file)
    result = job.get("result") or {}
    added = result.get("records") or result.get("record_count") or result.get("inserted")
    _say(f"pushed {args.file} to {project['name']!r}" + (f": {added} records" if added is not None else ""))
    return 0


def cmd_use(args: argparse.Namespace) -> int:
    path = find_settings(args.settings)
    settings = load_settings(path)
    with _connect(settings, progress=False) as client:
        project = _choose_project(client, args.project, {})
    settings["project_id"] = project["id"]
    save_settings(path, settings)
    _say(f"now using {project['name']!r} ({project['id']}); settings in {path}")
    return 0


def cmd_quality(args: argparse.Namespace) -> int:
    settings = load_settings(find_settings(args.settings))
    with _connect(settings, progress=False) as client:
        project = _choose_project(client, args.project, settings)
        quality = client.get_weak_supervision_quality(args.task)
    model = quality.get("model") or "?"
    if quality.get("picked"):
        model = f"{model} -> {quality['picked']}"
    if quality.get("run_id") is None:
        _say(f"{project['name']!r}: no quality figures: {quality.get('reason')}")
        return 0
    _say(f"{project['name']!r}: latest finished weak-supervision run {quality['run_id']} (model {model})")
    if not quality.get("available"):
        _say(f"no quality figures: {quality.get('reason')}")
        return 0
    if quality.get("level") == "token":
        return _token_quality(quality)
    low, high = quality["accuracy_interval_95"]
    _say(
        f"accuracy {quality['accuracy']:.1%} (95 % interval {low:.1%}-{high:.1%}) on {quality['manual_labels']} manual"
        f" labels, {quality['folds']}-fold cross-validation; coverage {quality.get('coverage') or 0:.1%}"
    )
    if quality.get("note"):
        _say(f"note: {quality['note']}")
    _say(f"{'label':<24} {'precision':>9} {'recall':>7} {'support':>8}")
    for name, figures in quality.get("per_label", {}).items():
        precision = "-" if figures["precision"] is None else f"{figures['precision']:.1%}"
        recall = "-" if figures["recall"] is None else f"{figures['recall']:.1%}"
        _say(f"{name:<24} {precision:>9} {recall:>7} {figures['support']:>8}")
    return 0


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _token_quality(quality: dict[str, Any]) -> int:
    """An extraction run's figures: token-level F1 with its interval, span-level F1, per label."""
    low, high = quality["f1_interval_95"]
    folds = f"{quality['folds']}-fold cross-validation" if quality.get("folds") else "model fitted without manual labels"
    _say(
        f"token-level F1 {_percent(quality['f1'])} (95 % interval {low:.1%}-{high:.1%}; precision"
        f" {_percent(quality['precision'])}, recall {_percent(quality['recall'])}) on {quality['manual_labels']} manually"
        f" labeled records ({quality['tokens']} tokens), {folds}; span-level F1 {_percent(quality['span_f1'])}"
    )
    _say(f"{'label':<24} {'precision':>9} {'recall':>7} {'F1':>7} {'tokens':>8}")
    for name, figures in quality.get("per_label", {}).items():
        _say(
            f"{name:<24} {_percent(figures['precision']):>9} {_percent(figures['recall']):>7}"
            f" {_percent(figures.get('f1')):>7} {figures['support']:>8}"
        )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rsdk", description="refinery from the command line.", epilog=__doc__.split("\n\n")[1])
    parser.add_argument("--settings", help="settings file (default: ./secrets.json if present, else the per-user file)")
    sub = parser.add_subparsers(dest="command", required=True)

    login = sub.add_parser("login", help="check credentials and write the settings file")
    login.add_argument("--uri", default=None, help=f"server (default {DEFAULT_URI})")
    login.add_argument("--user", "--email", dest="user", help="account email (asked when missing)")
    login.add_argument("--password", help="password (asked when missing)")
    login.add_argument("--token", help="an API token instead of email and password")
    login.add_argument("--project", help="project id or name to use by default")
    login.add_argument("--store-password", action="store_true", help="store email and password instead of a new API token")
    login.set_defaults(func=cmd_login)

    projects = sub.add_parser("projects", help="list your projects (* = the default one)")
    projects.set_defaults(func=cmd_projects)

    pull = sub.add_parser("pull", help="download the project's export to {project_name}.json")
    pull.add_argument("--project", help="project id or name (default: the settings' project_id)")
    pull.add_argument("--out", help="file or folder to write to (default: ./{project_name}.json)")
    pull.add_argument("--format", choices=["json", "jsonl", "csv"], default="json")
    pull.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    pull.set_defaults(func=cmd_pull)

    push = sub.add_parser("push", help="upload a JSON, JSONL, CSV or XLSX file of records and wait for the import")
    push.add_argument("file")
    push.add_argument("--project", help="project id or name (default: the settings' project_id)")
    push.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    push.set_defaults(func=cmd_push)

    quality = sub.add_parser("quality", help="cross-validated quality of the latest weak-supervision run of a task")
    quality.add_argument("--project", help="project id or name (default: the settings' project_id)")
    quality.add_argument("--task", help="labeling task id or name (needed when the project has several)")
    quality.set_defaults(func=cmd_quality)

    use = sub.add_parser("use", help="set the default project in the settings file")
    use.add_argument("project", help="project id or name")
    use.set_defaults(func=cmd_use)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
        return code
    except RefineryError as exc:
        sys.stderr.write(f"rsdk: {exc.detail}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("rsdk: interrupted\n")
        return 130
    except OSError as exc:
        sys.stderr.write(f"rsdk: {exc}\n")
        return 1


if __name__ == "__main__":
    sys.exit(main())
