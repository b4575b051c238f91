"""The project's primary key: the attributes flagged ``is_primary_key`` together name each record once.

An upload infers it (:mod:`.upload.loader`, which explains its choice in the job's result); a user sets or clears an
attribute as part of it here. The resulting key must hold a value in every record and no combination twice: a
change that breaks this is refused (409 naming the records), nothing is changed.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from shared_model.models import Attribute, AttributeState, Project
from shared_model.service import problem

USABLE_STATES = (AttributeState.UPLOADED, AttributeState.AUTOMATICALLY_CREATED, AttributeState.USABLE)
SHOWN = 5


def _value_sql(index: int) -> str:
    return f"data -> :k{index}"


def key_problems(session: Session, project_id: uuid.UUID, names: list[str]) -> str | None:
    """Why the attributes ``names`` together are no primary key of the project's records (None when they are)."""
    if not names:
        return None
    params: dict[str, Any] = {"p": project_id, **{f"k{i}": name for i, name in enumerate(names)}}
    missing_condition = " OR ".join(f"coalesce(jsonb_typeof({_value_sql(i)}), 'null') = 'null'" for i in range(len(names)))
    missing = session.execute(
        text(f"SELECT id FROM record WHERE project_id = :p AND ({missing_condition}) ORDER BY id LIMIT {SHOWN + 1}"),
        params,
    ).scalars()
    missing_ids = list(missing)
    if missing_ids:
        shown = ", ".join(str(i) for i in missing_ids[:SHOWN]) + (" …" if len(missing_ids) > SHOWN else "")
        return f"records {shown} have no value for {', '.join(repr(n) for n in names)}"
    values = ", ".join(_value_sql(i) for i in range(len(names)))
    duplicates = session.execute(
        text(
            f"SELECT (array_agg(id ORDER BY id))[1:3], count(*), {values} FROM record WHERE project_id = :p"
            f" GROUP BY {values} HAVING count(*) > 1 ORDER BY min(id) LIMIT {SHOWN}"
        ),
        params,
    ).all()
    if not duplicates:
        return None
    parts = []
    for row in duplicates:
        ids, count, *key = row
        shown = ", ".join(f"{name}={value!r}" for name, value in zip(names, key, strict=True))
        more = f" and {count - len(ids)} more" if count > len(ids) else ""
        parts.append(f"{shown} in records {', '.join(str(i) for i in ids)}{more}")
    return "duplicate keys: " + "; ".join(parts)


def set_primary_key(session: Session, project: Project, attribute_id: uuid.UUID, is_primary_key: bool) -> list[Attribute]:
    """Add the attribute to the primary key or remove it; returns the project's attributes. 404 unknown attribute,
    422 an attribute without values yet (a calculated one that has not run), 409 a key that is not unique."""
    session.execute(select(Project.id).where(Project.id == project.id).with_for_update())  # uploads wait meanwhile
    attributes = list(
        session.scalars(select(Attribute).where(Attribute.project_id == project.id).order_by(Attribute.relative_position))
    )
    attribute = next((a for a in attributes if a.id == attribute_id), None)
    if attribute is None:
        raise problem(404, f"attribute {attribute_id} does not exist in project {project.name!r}")
    if is_primary_key and attribute.state not in USABLE_STATES:
        raise problem(422, f"attribute {attribute.name!r} has no values yet (state {attribute.state.value})")
    names = [
        a.name for a in attributes if (a.is_primary_key and a.id != attribute.id) or (a.id == attribute.id and is_primary_key)
    ]
    why = key_problems(session, project.id, names)
    if why is not None:
        action = "adding" if is_primary_key else "removing"
        key = ", ".join(repr(n) for n in names)
        raise problem(409, f"{action} {attribute.name!r} makes the primary key ({key}) name records twice or not at all: {why}")
    attribute.is_primary_key = is_primary_key
    session.flush()
    return attributes
