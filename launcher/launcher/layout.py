"""Where the platform keeps its pid files, logs and embedded database, and how the launcher talks to its user."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from shared_model.settings import Settings


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
