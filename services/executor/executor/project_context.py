"""What a run of user code needs to know about its project, and what it runs: the project's context, the code's
specs, the records to run on, the sandbox limits of a sample and of a full run."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from shared_model.models import Attribute, DataType, LookupList, Project, Term

from .sandbox.backends import Limits

SAMPLE_LIMITS = Limits(wall_time_s=30.0, cpu_time_s=30)
FULL_LIMITS = Limits(wall_time_s=3600.0, cpu_time_s=3600)


@dataclass
class ProjectContext:
    """What a run needs to know about its project."""

    project_id: uuid.UUID
    tokenizer: str
    attribute_types: dict[str, DataType]
    knowledge: dict[str, list[str]]
    limit_overrides: dict[str, Any]
    primary_key: str | None = None  # the attribute that names a record for the user (errors say "id=17")

    @property
    def text_attributes(self) -> list[str]:
        return [name for name, kind in self.attribute_types.items() if kind == DataType.TEXT]

    def limits(self, base: Limits) -> Limits:
        return Limits.merged(base, self.limit_overrides)


@dataclass
class FunctionSpec:
    """One piece of user code in a pass: ``mode`` lf (labeling function), ac (attribute calculation) or ide."""

    id: str
    mode: str
    code: str
    label: str = ""

    @property
    def entry(self) -> str | None:
        return {"lf": "lf", "ac": "ac"}.get(self.mode)


def load_context(session: Session, project_id: uuid.UUID) -> ProjectContext:
    """The project's tokenizer, attribute types, lookup lists and sandbox limits; LookupError if it does not exist."""
    project = session.get(Project, project_id)
    if project is None:
        raise LookupError(f"project {project_id} does not exist")
    attributes = session.execute(
        select(Attribute.name, Attribute.data_type, Attribute.is_primary_key)
        .where(Attribute.project_id == project_id)
        .order_by(Attribute.relative_position)
    ).all()
    knowledge: dict[str, list[str]] = {}
    rows = session.execute(
        select(LookupList.python_name, Term.value)
        .join(Term, Term.lookup_list_id == LookupList.id, isouter=True)
        .where(LookupList.project_id == project_id)
        .where((Term.blacklisted.is_(False)) | (Term.id.is_(None)))
        .order_by(LookupList.python_name, Term.created_at, Term.value)
    ).all()
    for python_name, value in rows:
        terms = knowledge.setdefault(python_name, [])
        if value is not None:
            terms.append(value)
    overrides = project.settings.get("sandbox_limits") if isinstance(project.settings, dict) else None
    return ProjectContext(
        project_id=project_id,
        tokenizer=project.tokenizer,
        attribute_types={name: kind for name, kind, _ in attributes},
        knowledge=knowledge,
        limit_overrides=overrides if isinstance(overrides, dict) else {},
        primary_key=next((name for name, _, key in attributes if key), None),
    )


def sample_record_ids(session: Session, project_id: uuid.UUID, size: int) -> list[int]:
    """``size`` random record ids of the project."""
    rows = session.execute(
        text("SELECT id FROM record WHERE project_id = :p ORDER BY random() LIMIT :n"), {"p": project_id, "n": size}
    )
    return sorted(int(row[0]) for row in rows)


def count_records(session: Session, project_id: uuid.UUID) -> int:
    return int(session.execute(text("SELECT count(*) FROM record WHERE project_id = :p"), {"p": project_id}).scalar_one())
