"""The time limit of a project's full runs: a project setting within the installation's maximum."""

from __future__ import annotations

from typing import Any

from .settings import get_settings

RUN_TIME_LIMIT_KEY = "run_time_limit_s"  # the key in ``project.settings``


def run_time_limit_problem(value: int) -> str | None:
    """Why ``value`` cannot be a project's run time limit (None: it can)."""
    maximum = get_settings().run_time_limit_max_s
    if value < 1:
        return f"{RUN_TIME_LIMIT_KEY} must be at least 1 s, got {value}"
    if value > maximum:
        return (
            f"{RUN_TIME_LIMIT_KEY} {value} s is above the installation's maximum of {maximum} s (REFINERY_RUN_TIME_LIMIT_MAX_S)"
        )
    return None


def project_run_time_limit(project_settings: dict[str, Any] | None) -> int:
    """The time limit of the project's full runs: its own setting, else the installation default; never above the
    installation maximum (a maximum lowered after a project set more wins)."""
    settings = get_settings()
    value = (project_settings or {}).get(RUN_TIME_LIMIT_KEY)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        value = settings.run_time_limit_default_s
    return min(value, settings.run_time_limit_max_s)
