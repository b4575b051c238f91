"""SDK fixtures: a real gateway process (and the weak supervisor) on the private test database, and SDK clients."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ..conftest import ADMIN_PASSWORD

ADMIN_EMAIL = "admin@localhost"


@pytest.fixture(scope="session")
def platform(services: Any) -> str:
    """The URL of a running gateway process; the weak supervisor, executor and tokenizer run beside it."""
    services.start("weak_supervisor")
    services.start("executor")
    services.start("tokenizer")
    return str(services.start("gateway").url)


def _ensure_admin() -> None:
    """Other test modules may have emptied the tables since the gateway started: put the admin back."""
    from gateway.domain.users import ensure_admin
    from shared_model.db import session_scope

    with session_scope() as session:
        ensure_admin(session)


@pytest.fixture()
def admin(platform: str) -> Iterator[Any]:
    """An SDK client logged in as the admin (no project yet)."""
    from refinery import Client

    _ensure_admin()
    with Client(ADMIN_EMAIL, ADMIN_PASSWORD, uri=platform, progress=False) as client:
        yield client


@pytest.fixture()
def sdk_project(admin: Any) -> dict[str, Any]:
    """A fresh project; the admin client uses it."""
    project: dict[str, Any] = admin.create_project(f"sdk {uuid.uuid4().hex[:8]}")
    return project


SPAM_ROWS = [
    (1, "check out my channel subscribe", "spam"),
    (2, "great song love it", "ham"),
    (3, "subscribe to me for free gift cards", "spam"),
    (4, "this video is amazing", "ham"),
    (5, "visit my website http://x.example", "spam"),
    (6, "i love this band", "ham"),
]


def spam_jsonl(folder: Path, labelled: bool = True) -> Path:
    """Six comments with an ``id`` primary key; ``__spam`` manual labels on the first four when ``labelled``."""
    import json

    path = folder / "comments.jsonl"
    with path.open("w", encoding="utf-8") as out:
        for idx, text, label in SPAM_ROWS:
            row: dict[str, Any] = {"id": idx, "text": text}
            if labelled:
                row["__spam"] = label if idx <= 4 else None
            out.write(json.dumps(row) + "\n")
    return path
