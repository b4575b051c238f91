"""Lookup lists: create, rename, delete; terms: add, remove, blacklist, comment, paste or CSV import; Python import line."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import delete, func, select

from shared_model.models import Comment, CommentTarget, LookupList, Term
from shared_model.service import problem

from ..deps import ProjectDep, SessionDep
from ..domain import lookup_lists as domain
from ..policies import Action, allow
from ..schemas import RequestModel

router = APIRouter(prefix="/api/v1/projects/{project_id}/lookup-lists", tags=["lookup lists"])

MAX_IMPORT_BYTES = 20 * 1024 * 1024


class ListIn(RequestModel):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=10_000)


class ListUpdate(RequestModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=10_000)


class ListOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    python_name: str
    description: str
    label_id: uuid.UUID | None
    created_at: datetime
    term_count: int = 0


class TermCreate(RequestModel):
    value: str = Field(min_length=1, max_length=domain.MAX_TERM_LENGTH)
    comment: str | None = Field(default=None, max_length=10_000)
    blacklisted: bool = False


class TermsIn(RequestModel):
    terms: list[TermCreate] = Field(min_length=1, max_length=100_000)


class TermUpdate(RequestModel):
    value: str | None = Field(default=None, min_length=1, max_length=domain.MAX_TERM_LENGTH)
    comment: str | None = Field(default=None, max_length=10_000)
    blacklisted: bool | None = None


class TermOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    value: str
    comment: str | None
    blacklisted: bool


class PasteIn(RequestModel):
    text: str = Field(max_length=MAX_IMPORT_BYTES)
    delimiter: str = Field(default="\n", min_length=1, max_length=10)


def list_out(session: SessionDep, lookup_list: LookupList) -> ListOut:
    out = ListOut.model_validate(lookup_list)
    out.term_count = int(session.scalar(select(func.count()).select_from(Term).where(Term.lookup_list_id == lookup_list.id)) or 0)
    return out


@router.get("", response_model=list[ListOut], dependencies=[allow(Action.READ_HEURISTICS)])
def list_lists(project: ProjectDep, session: SessionDep) -> list[ListOut]:
    """The project's lookup lists with their term counts."""
    rows = session.scalars(select(LookupList).where(LookupList.project_id == project.id).order_by(LookupList.name))
    return [list_out(session, row) for row in rows]


@router.post("", response_model=ListOut, status_code=201, dependencies=[allow(Action.EDIT_PROJECT)])
def create_list(body: ListIn, project: ProjectDep, session: SessionDep) -> ListOut:
    """Create a lookup list; its Python name is derived from the name."""
    return list_out(session, domain.create_list(session, project.id, body.name, body.description))


@router.get("/{list_id}", response_model=ListOut, dependencies=[allow(Action.READ_HEURISTICS)])
def get_list(list_id: uuid.UUID, project: ProjectDep, session: SessionDep) -> ListOut:
    return list_out(session, domain.get_list(session, project.id, list_id))


@router.patch("/{list_id}", response_model=ListOut, dependencies=[allow(Action.EDIT_PROJECT)])
def update_list(list_id: uuid.UUID, body: ListUpdate, project: ProjectDep, session: SessionDep) -> ListOut:
    """Rename a list (its Python name follows) or change its description."""
    found = domain.get_list(session, project.id, list_id)
    if body.name is not None and body.name.strip() != found.name:
        name = body.name.strip()
        found.python_name = domain.check_name(session, project.id, name, exclude=found.id)
        found.name = name
    if body.description is not None:
        found.description = body.description
    session.flush()
    return list_out(session, found)


@router.delete("/{list_id}", dependencies=[allow(Action.EDIT_PROJECT)])
def delete_list(list_id: uuid.UUID, project: ProjectDep, session: SessionDep) -> dict[str, Any]:
    """Delete a list with its terms and comments."""
    found = domain.get_list(session, project.id, list_id)
    terms = int(session.scalar(select(func.count()).select_from(Term).where(Term.lookup_list_id == found.id)) or 0)
    comments = len(
        session.scalars(
            delete(Comment)
            .where(Comment.target_type == CommentTarget.LOOKUP_LIST, Comment.target_id == str(found.id))
            .returning(Comment.id)
        ).all()
    )
    session.delete(found)
    return {"removed": {"lookup_lists": 1, "terms": terms, "comments": comments}}


@router.get("/{list_id}/python", dependencies=[allow(Action.READ_HEURISTICS)])
def python_import(list_id: uuid.UUID, project: ProjectDep, session: SessionDep) -> dict[str, str]:
    """The line a labeling function uses to import the list's (non-blacklisted) terms."""
    found = domain.get_list(session, project.id, list_id)
    return {"python_name": found.python_name, "snippet": domain.snippet(found)}


@router.get("/{list_id}/terms", response_model=list[TermOut], dependencies=[allow(Action.READ_HEURISTICS)])
def list_terms(list_id: uuid.UUID, project: ProjectDep, session: SessionDep, blacklisted: bool | None = None) -> list[Term]:
    """The list's terms (optionally only blacklisted or only usable ones)."""
    found = domain.get_list(session, project.id, list_id)
    query = select(Term).where(Term.lookup_list_id == found.id)
    if blacklisted is not None:
        query = query.where(Term.blacklisted.is_(blacklisted))
    return list(session.scalars(query.order_by(Term.value)))


def _import(session: SessionDep, found: LookupList, terms: list[domain.TermIn]) -> dict[str, int]:
    added, updated = domain.add_terms(session, found, terms)
    return {"added": added, "existing": updated}


@router.post("/{list_id}/terms", status_code=201, dependencies=[allow(Action.EDIT_PROJECT)])
def add_terms(list_id: uuid.UUID, body: TermsIn, project: ProjectDep, session: SessionDep) -> dict[str, int]:
    """Add terms; values already in the list are kept (a given comment or blacklist flag is applied)."""
    found = domain.get_list(session, project.id, list_id)
    return _import(session, found, [domain.TermIn(t.value, t.comment, t.blacklisted) for t in body.terms])


@router.post("/{list_id}/terms/paste", status_code=201, dependencies=[allow(Action.EDIT_PROJECT)])
def paste_terms(list_id: uuid.UUID, body: PasteIn, project: ProjectDep, session: SessionDep) -> dict[str, int]:
    """Import pasted text, one term per line (or per ``delimiter``)."""
    found = domain.get_list(session, project.id, list_id)
    return _import(session, found, domain.parse_paste(body.text, body.delimiter))


@router.post("/{list_id}/terms/csv", status_code=201, dependencies=[allow(Action.EDIT_PROJECT)])
async def csv_terms(list_id: uuid.UUID, request: Request, project: ProjectDep, session: SessionDep) -> dict[str, int]:
    """Import a CSV sent as the request body (``text/csv``): value[, comment[, blacklisted]] per row."""
    data = await request.body()
    if len(data) > MAX_IMPORT_BYTES:
        raise problem(413, f"the CSV is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MiB")
    found = domain.get_list(session, project.id, list_id)
    return _import(session, found, domain.parse_csv(data))


def _term(session: SessionDep, found: LookupList, term_id: uuid.UUID) -> Term:
    term = session.get(Term, term_id)
    if term is None or term.lookup_list_id != found.id:
        raise problem(404, f"term {term_id} does not exist in lookup list {found.name!r}")
    return term


@router.patch("/{list_id}/terms/{term_id}", response_model=TermOut, dependencies=[allow(Action.EDIT_PROJECT)])
def update_term(list_id: uuid.UUID, term_id: uuid.UUID, body: TermUpdate, project: ProjectDep, session: SessionDep) -> Term:
    """Change a term's value, comment (null clears) or blacklist flag."""
    found = domain.get_list(session, project.id, list_id)
    term = _term(session, found, term_id)
    if body.value is not None:
        value = domain.clean_value(body.value)
        clash = session.scalar(select(Term.id).where(Term.lookup_list_id == found.id, Term.value == value, Term.id != term.id))
        if clash:
            raise problem(409, f"term {value!r} is already in lookup list {found.name!r}")
        term.value = value
    if "comment" in body.model_fields_set:
        term.comment = body.comment or None
    if body.blacklisted is not None:
        term.blacklisted = body.blacklisted
    session.flush()
    return term


@router.delete("/{list_id}/terms/{term_id}", status_code=204, dependencies=[allow(Action.EDIT_PROJECT)])
def delete_term(list_id: uuid.UUID, term_id: uuid.UUID, project: ProjectDep, session: SessionDep) -> Response:
    """Remove a term."""
    found = domain.get_list(session, project.id, list_id)
    session.delete(_term(session, found, term_id))
    return Response(status_code=204)
