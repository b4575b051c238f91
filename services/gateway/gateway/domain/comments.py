"""Comments (markdown) on records, tasks, labels, heuristics, slices and lookup lists; private ones only their author sees."""

from __future__ import annotations

import uuid

from sqlalchemy import or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from shared_model.models import (
    Comment,
    CommentTarget,
    DataSlice,
    InformationSource,
    Label,
    LabelingTask,
    LookupList,
    Record,
    User,
)
from shared_model.service import problem

_TARGET_MODELS: dict[CommentTarget, type] = {
    CommentTarget.LABELING_TASK: LabelingTask,
    CommentTarget.LABEL: Label,
    CommentTarget.HEURISTIC: InformationSource,
    CommentTarget.DATA_SLICE: DataSlice,
    CommentTarget.LOOKUP_LIST: LookupList,
}


def check_target(session: Session, project_id: uuid.UUID, target_type: CommentTarget, target_id: str) -> str:
    """The canonical id of an existing comment target in the project (404 naming it otherwise)."""
    what = target_type.value.lower().replace("_", " ")
    if target_type == CommentTarget.RECORD:
        try:
            record_id = int(target_id)
        except ValueError:
            raise problem(422, f"a record id is an integer, not {target_id!r}") from None
        record = session.get(Record, record_id)
        if record is None or record.project_id != project_id:
            raise problem(404, f"{what} {target_id} does not exist in this project")
        return str(record_id)
    try:
        key = uuid.UUID(target_id)
    except ValueError:
        raise problem(422, f"a {what} id is a UUID, not {target_id!r}") from None
    found = session.get(_TARGET_MODELS[target_type], key)
    if found is None or found.project_id != project_id:
        raise problem(404, f"{what} {target_id} does not exist in this project")
    return str(key)


def visible(project_id: uuid.UUID, user: User) -> list[ColumnElement[bool]]:
    """Conditions selecting the comments ``user`` may read: shared ones and their own private ones."""
    return [Comment.project_id == project_id, or_(Comment.is_private.is_(False), Comment.created_by == user.id)]


def get_comment(session: Session, project_id: uuid.UUID, user: User, comment_id: uuid.UUID) -> Comment:
    """A comment ``user`` may read (404 otherwise: others' private comments are not disclosed)."""
    found = session.scalar(select(Comment).where(Comment.id == comment_id, *visible(project_id, user)))
    if found is None:
        raise problem(404, f"comment {comment_id} does not exist in this project")
    return found


def own_comment(session: Session, project_id: uuid.UUID, user: User, comment_id: uuid.UUID) -> Comment:
    """A comment ``user`` wrote (403 for another's)."""
    found = get_comment(session, project_id, user, comment_id)
    if found.created_by != user.id:
        raise problem(403, "only a comment's author can change or delete it")
    return found
