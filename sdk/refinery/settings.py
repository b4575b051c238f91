"""Where the command line keeps its connection settings, and how it finds them.

Order: ``--settings PATH``; else ``secrets.json`` in the current folder (the original SDK's file); else
``$REFINERY_SDK_SETTINGS``; else ``$XDG_CONFIG_HOME/refinery/settings.json`` (``~/.config/refinery/settings.json``).
Keys as the original's secrets file: ``uri``, ``project_id``, and ``api_token`` or ``user_name`` + ``password``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .exceptions import ConfigurationError

SECRETS_FILE = "secrets.json"
KEYS = ("uri", "project_id", "api_token", "user_name", "password")


def default_settings_path() -> Path:
    """The per-user settings file ``rsdk login`` writes by default."""
    explicit = os.environ.get("REFINERY_SDK_SETTINGS")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "refinery" / "settings.json"


def find_settings(explicit: str | None) -> Path:
    """The settings file to read: ``explicit``, ``./secrets.json`` or the per-user file (it may not exist)."""
    if explicit:
        return Path(explicit)
    local = Path.cwd() / SECRETS_FILE
    if local.is_file():
        return local
    return default_settings_path()


def read_json_object(path: Path, what: str, missing: str) -> dict[str, Any]:
    """The JSON object in ``path``: ConfigurationError ``missing`` when there is no such file, else one naming ``what``
    and the file when it is unreadable or holds something else (the CLI's settings and ``Client.from_secrets_file``)."""
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigurationError(missing) from None
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"cannot read {what} {path}: {exc}") from None
    if not isinstance(content, dict):
        raise ConfigurationError(f"{what} {path} must hold a JSON object")
    return content


def load_settings(path: Path) -> dict[str, Any]:
    """The settings in ``path`` (ConfigurationError naming the file when missing or unreadable)."""
    return read_json_object(path, "settings", f"no settings at {path}: run 'rsdk login' first (or pass --settings)")


def save_settings(path: Path, settings: dict[str, Any]) -> None:
    """Write settings readable only by the user (they hold a credential)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".tmp")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump({k: settings[k] for k in KEYS if settings.get(k) is not None}, out, indent=2)
        out.write("\n")
    partial.replace(path)
