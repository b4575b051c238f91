"""The two helpers every router of a project's resources needs: fetch one row of the project (else 404) and apply a
PATCH body to a row."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel
from sqlalchemy.orm import Session

from .errors import problem


class _InProject(Protocol):
    project_id: Any


Row = TypeVar("Row", bound=_InProject)


def get_in_project(session: Session, model: type[Row], row_id: Any, project_id: uuid.UUID, what: str) -> Row:
    """The row ``row_id`` of ``model`` if it belongs to the project; else a 404 naming ``what`` and the project.

    A row of another project answers exactly like a missing one: nothing about other projects is disclosed.
    """
    row = session.get(model, row_id)
    if row is None or row.project_id != project_id:
        raise problem(404, f"{what} {row_id} does not exist in project {project_id}")
    return row


def apply_patch(
    target: object,
    body: BaseModel,
    fields: Iterable[str] | None = None,
    *,
    clean: dict[str, Callable[[Any], Any]] | None = None,
) -> set[str]:
    """Copy each of ``fields`` (default: all of the body's) that the PATCH body gives a value (not None) onto ``target``.

    ``clean`` maps a field to a function applied to its value first (e.g. ``str.strip`` for names). Returns the names
    that were set, so a caller can react to them (re-check uniqueness, reset results …).
    """
    names = list(fields) if fields is not None else list(type(body).model_fields)
    changed: set[str] = set()
    for name in names:
        value = getattr(body, name)
        if value is None:
            continue
        if clean and name in clean:
            value = clean[name](value)
        setattr(target, name, value)
        changed.add(name)
    return changed
