"""Embeddings, lookup lists ("knowledge bases") with terms, data slices and comments."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, created_at, updated_at, uuid_pk
from .enums import CommentTarget, EmbeddingType, RunState, SliceType, enum_column


class Embedding(Base):
    __tablename__ = "embedding"
    __table_args__ = (UniqueConstraint("project_id", "name"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    project_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("project.id", ondelete="CASCADE"))
    attribute_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("attribute.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(300), nullable=False)
    type: Mapped[EmbeddingType] = mapped_column(enum_column(EmbeddingType), nullable=False)
    state: Mapped[RunState] = mapped_column(enum_column(RunState), nullable=False, default=RunState.QUEUED)
    model: Mapped[str] = mapped_column(String(300), nullable=False)
    platform: Mapped[str] = mapped_column(String(50), nullable=False, default="sentence-transformers")
    dimensions: Mapped[int | None] = mapped_column(BigInteger)
    settings: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict, server_default="{}")
    filter_attributes: Mapped[list[str]] = mapped_column(JSONB, nullable=False, default=list, server_default="[]")
    similarity_threshold: Mapped[float | None] = mapped_column(Float)
    storage_key: Mapped[str | None] = mapped_column(String(500))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at()


class LookupList(Base):
    __tablename__ = "lookup_list"
    __table_args__ = (UniqueConstraint("project_id", "name"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    project_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("project.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    python_name: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    label_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), ForeignKey("label.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = created_at()


class Term(Base):
    __tablename__ = "lookup_term"
    __table_args__ = (UniqueConstraint("lookup_list_id", "value"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    lookup_list_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("lookup_list.id", ondelete="CASCADE"))
    value: Mapped[str] = mapped_column(Text, nullable=False)
    comment: Mapped[str | None] = mapped_column(Text)
    blacklisted: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_at: Mapped[datetime] = created_at()


class DataSlice(Base):
    __tablename__ = "data_slice"
    __table_args__ = (UniqueConstraint("project_id", "name"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    project_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("project.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    filter: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict, server_default="{}")
    type: Mapped[SliceType] = mapped_column(enum_column(SliceType), nullable=False, default=SliceType.DYNAMIC_DEFAULT)
    info: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict, server_default="{}")
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), ForeignKey("app_user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()  # migration 0010


class DataSliceRecord(Base):
    __tablename__ = "data_slice_record"
    __table_args__ = (UniqueConstraint("data_slice_id", "record_id"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    data_slice_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("data_slice.id", ondelete="CASCADE"))
    record_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("record.id", ondelete="CASCADE"), index=True)
    outlier_score: Mapped[float | None] = mapped_column(Float)


class Comment(Base):
    """A markdown comment on a record, task, label, heuristic, slice or lookup list; private ones only their author sees."""

    __tablename__ = "comment"
    __table_args__ = (Index("ix_comment_target", "project_id", "target_type", "target_id"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    project_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("project.id", ondelete="CASCADE"))
    target_type: Mapped[CommentTarget] = mapped_column(enum_column(CommentTarget), nullable=False)
    target_id: Mapped[str] = mapped_column(String(64), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    is_private: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), ForeignKey("app_user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
