"""Enumerations of the domain (names as in the original refinery)."""

from __future__ import annotations

import enum

from sqlalchemy import Enum


class StrEnum(enum.StrEnum):
    """A string enum whose value is its name."""


class DataType(StrEnum):
    INTEGER = "INTEGER"
    FLOAT = "FLOAT"
    BOOLEAN = "BOOLEAN"
    CATEGORY = "CATEGORY"
    TEXT = "TEXT"
    EMBEDDING_LIST = "EMBEDDING_LIST"


class AttributeState(StrEnum):
    UPLOADED = "UPLOADED"
    AUTOMATICALLY_CREATED = "AUTOMATICALLY_CREATED"
    INITIAL = "INITIAL"
    RUNNING = "RUNNING"
    USABLE = "USABLE"
    FAILED = "FAILED"


class AttributeVisibility(StrEnum):
    HIDE = "HIDE"
    HIDE_ON_LABELING_PAGE = "HIDE_ON_LABELING_PAGE"
    HIDE_ON_DATA_BROWSER = "HIDE_ON_DATA_BROWSER"
    DO_NOT_HIDE = "DO_NOT_HIDE"


class ProjectStatus(StrEnum):
    INIT_UPLOAD = "INIT_UPLOAD"
    IN_DELETION = "IN_DELETION"
    READY = "READY"


class TaskTarget(StrEnum):
    ON_ATTRIBUTE = "ON_ATTRIBUTE"
    ON_WHOLE_RECORD = "ON_WHOLE_RECORD"


class TaskType(StrEnum):
    MULTICLASS_CLASSIFICATION = "MULTICLASS_CLASSIFICATION"
    MULTILABEL_CLASSIFICATION = "MULTILABEL_CLASSIFICATION"
    INFORMATION_EXTRACTION = "INFORMATION_EXTRACTION"


class SourceType(StrEnum):
    MANUAL = "MANUAL"
    INFORMATION_SOURCE = "INFORMATION_SOURCE"
    WEAK_SUPERVISION = "WEAK_SUPERVISION"
    MODEL_CALLBACK = "MODEL_CALLBACK"


class ReturnType(StrEnum):
    RETURN = "RETURN"
    YIELD = "YIELD"


class HeuristicType(StrEnum):
    LABELING_FUNCTION = "LABELING_FUNCTION"
    ACTIVE_LEARNING = "ACTIVE_LEARNING"
    PRE_COMPUTED = "PRE_COMPUTED"
    ZERO_SHOT = "ZERO_SHOT"
    CROWD_LABELER = "CROWD_LABELER"


class RunState(StrEnum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


class EmbeddingType(StrEnum):
    ON_ATTRIBUTE = "ON_ATTRIBUTE"
    ON_TOKEN = "ON_TOKEN"


class SliceType(StrEnum):
    STATIC_DEFAULT = "STATIC_DEFAULT"
    STATIC_OUTLIER = "STATIC_OUTLIER"
    DYNAMIC_DEFAULT = "DYNAMIC_DEFAULT"


class CommentTarget(StrEnum):
    RECORD = "RECORD"
    LABELING_TASK = "LABELING_TASK"
    LABEL = "LABEL"
    HEURISTIC = "HEURISTIC"
    DATA_SLICE = "DATA_SLICE"
    LOOKUP_LIST = "LOOKUP_LIST"


class UserRole(StrEnum):
    """``User.role``: ADMIN (the installation's admin) or the default project role; ``ProjectMember.role``: OWNER,
    ENGINEER, EXPERT or ANNOTATOR (what each may do: ``gateway/policies.py``, docs/roles.md)."""

    ADMIN = "ADMIN"
    OWNER = "OWNER"
    ENGINEER = "ENGINEER"
    EXPERT = "EXPERT"
    ANNOTATOR = "ANNOTATOR"


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


def enum_column(enum_cls: type[enum.Enum]) -> Enum:
    """A portable VARCHAR-backed enum column type (no Postgres enum types to migrate)."""
    return Enum(enum_cls, native_enum=False, length=40, values_callable=lambda e: [m.value for m in e], validate_strings=True)
