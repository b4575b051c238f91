"""Lookup lists ("knowledge bases") and their terms; labeling functions import them as ``from knowledge import …``."""

from __future__ import annotations

import csv
import io
import re
import uuid
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from shared_model.models import LookupList, Term
from shared_model.service import problem
from shared_model.service.crud import get_in_project
from shared_model.service.input_checks import text_problem

MAX_TERM_LENGTH = 1000


def python_name(name: str) -> str:
    """The list's Python name, as the original derives it: lower-cased, spaces to ``_``, other non-word characters
    removed, ``_`` prefixed when it starts with a digit."""
    value = re.sub(r"[^\w]", "", name.lower().replace(" ", "_"))
    if value[:1].isdigit():
        value = "_" + value
    return value


def check_name(session: Session, project_id: uuid.UUID, name: str, *, exclude: uuid.UUID | None = None) -> str:
    """A usable name for a list: non-empty Python name, unique list name and Python name (409 otherwise)."""
    derived = python_name(name)
    if not derived:
        raise problem(422, f"lookup list name {name!r} has no letters, digits or '_' to form a Python name")
    for other in session.scalars(select(LookupList).where(LookupList.project_id == project_id)):
        if other.id == exclude:
            continue
        if other.name == name:
            raise problem(409, f"a lookup list named {name!r} already exists")
        if other.python_name == derived:
            raise problem(409, f"lookup list {name!r} would be imported as {derived!r}, which {other.name!r} already is")
    return derived


def get_list(session: Session, project_id: uuid.UUID, list_id: uuid.UUID) -> LookupList:
    """The project's lookup list (404 otherwise)."""
    return get_in_project(session, LookupList, list_id, project_id, "lookup list")


def create_list(
    session: Session, project_id: uuid.UUID, name: str, description: str = "", label_id: uuid.UUID | None = None
) -> LookupList:
    """Create a lookup list (409 when its name or Python name is taken)."""
    name = name.strip()
    created = LookupList(
        project_id=project_id,
        name=name,
        python_name=check_name(session, project_id, name),
        description=description,
        label_id=label_id,
    )
    session.add(created)
    session.flush()
    return created


def list_for_label(session: Session, project_id: uuid.UUID, label_id: uuid.UUID, name: str) -> LookupList | None:
    """The list an extraction label gets (as the original does): a new one of the label's name, or an existing unlinked
    list of that name; None when the name cannot be used (the label is still created)."""
    existing = session.scalar(select(LookupList).where(LookupList.project_id == project_id, LookupList.name == name))
    if existing is not None:
        if existing.label_id is None:
            existing.label_id = label_id
            return existing
        return None
    derived = python_name(name)
    if not derived or session.scalar(
        select(func.count()).select_from(LookupList).where(LookupList.project_id == project_id, LookupList.python_name == derived)
    ):
        return None
    return create_list(session, project_id, name, label_id=label_id)


def snippet(lookup_list: LookupList) -> str:
    """The import line a labeling function uses."""
    return f"from knowledge import {lookup_list.python_name}"


@dataclass
class TermIn:
    value: str
    comment: str | None = None
    blacklisted: bool = False


def clean_value(value: str) -> str:
    """A term as stored: stripped, non-empty, bounded (422 otherwise)."""
    stripped = value.strip()
    if not stripped:
        raise problem(422, "a term must not be empty")
    if len(stripped) > MAX_TERM_LENGTH:
        raise problem(422, f"term {stripped[:40]!r}… is longer than {MAX_TERM_LENGTH} characters")
    return stripped


def add_terms(session: Session, lookup_list: LookupList, terms: list[TermIn]) -> tuple[int, int]:
    """Add terms (existing values keep theirs; a comment or blacklist flag given here is applied); returns (added, updated)."""
    unique: dict[str, TermIn] = {}
    for term in terms:
        unique[clean_value(term.value)] = term
    if not unique:
        return 0, 0
    existing = set(session.scalars(select(Term.value).where(Term.lookup_list_id == lookup_list.id, Term.value.in_(list(unique)))))
    rows = [
        {
            "id": uuid.uuid4(),
            "lookup_list_id": lookup_list.id,
            "value": value,
            "comment": term.comment,
            "blacklisted": term.blacklisted,
        }
        for value, term in unique.items()
    ]
    statement = insert(Term).values(rows)
    statement = statement.on_conflict_do_update(
        index_elements=[Term.lookup_list_id, Term.value],
        set_={
            "comment": func.coalesce(statement.excluded.comment, Term.comment),
            "blacklisted": Term.blacklisted | statement.excluded.blacklisted,
        },
    )
    session.execute(statement)
    return len(unique) - len(existing), len(existing)


def parse_paste(text: str, delimiter: str) -> list[TermIn]:
    """Terms pasted as text, split on ``delimiter`` (a newline by default); blanks skipped."""
    parts = text.split(delimiter) if delimiter != "\n" else text.splitlines()
    return [TermIn(value=part) for part in parts if part.strip()]


def parse_csv(data: bytes) -> list[TermIn]:
    """Terms from CSV: first column the value, optional second the comment, optional third a blacklist flag;
    a header row naming ``value`` or ``term`` is skipped."""
    try:
        content = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise problem(422, f"the CSV is not UTF-8 (byte {exc.start})") from None
    sample = content[:4096]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    terms: list[TermIn] = []
    for number, row in enumerate(csv.reader(io.StringIO(content), dialect), start=1):
        if not row or not row[0].strip():
            continue
        if number == 1 and row[0].strip().lower() in ("value", "term", "terms"):
            continue
        for cell in row:
            why = text_problem(cell)
            if why:
                raise problem(422, f"CSV row {number}: the text {why}")
        flag = row[2].strip().lower() if len(row) > 2 else ""
        if flag not in ("", "true", "false", "1", "0", "yes", "no"):
            raise problem(422, f"CSV row {number}: blacklisted must be true or false, not {row[2]!r}")
        comment = row[1].strip() if len(row) > 1 and row[1].strip() else None
        terms.append(TermIn(value=row[0], comment=comment, blacklisted=flag in ("true", "1", "yes")))
    return terms
