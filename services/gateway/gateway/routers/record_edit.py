"""Editing a record's values with a review first (the data browser's inline edit; gateway/domain/record_edit.py)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from shared_model.db import session_scope
from shared_model.models import Record, User
from shared_model.service import ProblemError

from ..clients import ServiceClient
from ..deps import CurrentUser, ProjectDep, SessionDep
from ..domain import record_edit
from ..domain.label_history import Via, via_of
from ..policies import Action, allow
from ..schemas import RequestModel

router = APIRouter(prefix="/api/v1/projects/{project_id}", tags=["data"])
ViaDep = Annotated[Via, Depends(via_of)]


class RecordEditIn(RequestModel):
    values: dict[str, Any] = Field(
        min_length=1,
        max_length=record_edit.EDIT_MAX_ATTRIBUTES,
        description="Attribute name -> new value (TEXT/CATEGORY: string, INTEGER: integer, FLOAT: number, BOOLEAN: "
        "true/false, null clears a value that is not part of the primary key).",
    )
    dry_run: bool = Field(default=False, description="Only review: what would change and which spans would go.")


class ValueChangeOut(BaseModel):
    attribute: str
    data_type: str
    old: Any
    new: Any


class RemovedSpanOut(BaseModel):
    id: uuid.UUID
    labeling_task_id: uuid.UUID
    task: str
    attribute: str
    label_id: uuid.UUID
    label: str
    source_type: str
    created_by: uuid.UUID | None
    token_start: int
    token_end: int
    text: str = Field(description="The span's text before the edit.")


class RecordEditOut(BaseModel):
    record_id: int
    applied: bool = Field(description="Whether the edit was stored (false for a dry run or when nothing changes).")
    changes: list[ValueChangeOut]
    removed_spans: list[RemovedSpanOut] = Field(description="Spans whose words the edit changes: deleted with it.")
    kept_spans: int = Field(description="Spans on the edited text attributes that still cover the same words.")
    data: dict[str, Any] = Field(description="The record's values after the edit (as they would be for a dry run).")
    stale: str = Field(description="What stays of the old values until it runs again.")
    tokenized: bool | None = Field(
        description="Whether the tokenizer stored the record's new tokens right away (null: no text changed; false: "
        "they are made on the record's next read)."
    )


@router.patch("/records/{record_id}", response_model=RecordEditOut, dependencies=[allow(Action.EDIT_PROJECT)])
async def edit_record(
    record_id: int, body: RecordEditIn, project: ProjectDep, user: CurrentUser, session: SessionDep, via: ViaDep
) -> RecordEditOut:
    """Change some of a record's values. With ``dry_run`` it only answers the review: each value old → new, the spans
    of extraction tasks on an edited text attribute whose words change (they are deleted with the edit, manual ones
    recorded in the label history) and how many spans stay. Calculated attributes are not edited (422); a value of
    the wrong type is a 422 naming it; a primary key that another record holds is a 409; a record changed since it
    was read is a 409. Nothing is stored half: values, spans and the record's stale tokens change in one transaction,
    then the tokenizer service tokenizes the record anew."""
    project_id, tokenizer = project.id, project.tokenizer
    plan = await run_in_threadpool(record_edit.plan, session, project_id, tokenizer, record_id, body.values)
    needs_tokens = await run_in_threadpool(record_edit.span_record_has, session, plan)
    old_docs: dict[str, dict[str, Any]] = {}
    new_tokens: dict[str, list[dict[str, Any]]] = {}
    client = ServiceClient("tokenizer")
    if needs_tokens:
        old = await client.json("GET", f"/records/{record_id}/tokens")
        old_docs = {name: doc for name, doc in old["attributes"].items() if name in plan.span_texts}
        names = list(plan.span_texts)
        tokens = await client.json(
            "POST", "/tokenize_texts", json={"tokenizer": tokenizer, "texts": [plan.span_texts[n][1] for n in names]}
        )
        new_tokens = dict(zip(names, tokens["tokens"], strict=True))

    def store(write: bool) -> RecordEditOut:
        with session_scope() as tx:
            editor = tx.get(User, user.id)
            assert editor is not None
            outcome = record_edit.apply(tx, plan, old_docs, new_tokens, editor, via, write=write)
            data = dict(tx.get_one(Record, record_id).data)
            if not write:
                data.update({c.attribute: c.new for c in outcome.changes})
                tx.rollback()
            return RecordEditOut(
                record_id=record_id,
                applied=write and bool(outcome.changes),
                changes=[
                    ValueChangeOut(attribute=c.attribute, data_type=c.data_type.value, old=c.old, new=c.new)
                    for c in outcome.changes
                ],
                removed_spans=[RemovedSpanOut(**entry) for entry in outcome.removed],
                kept_spans=outcome.kept_spans,
                data=data,
                stale=record_edit.STALE_NOTE,
                tokenized=None,
            )

    out = await run_in_threadpool(store, not body.dry_run)
    if out.applied and any(c.data_type == "TEXT" for c in out.changes):
        try:
            await client.json("POST", "/tokenize_record", json={"record_id": record_id})
            out.tokenized = True
        except ProblemError:
            out.tokenized = False  # made on the record's next read (and by the project's tokenize job)
    return out
