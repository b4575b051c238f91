"""Labeling tasks, labels and record-label associations (manual, heuristic and weak-supervision labels)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, created_at, uuid_pk
from .enums import ReturnType, SourceType, TaskTarget, TaskType, enum_column


class LabelingTask(Base):
    __tablename__ = "labeling_task"
    __table_args__ = (UniqueConstraint("project_id", "name"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    project_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("project.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    attribute_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("attribute.id", ondelete="CASCADE"), index=True
    )
    task_target: Mapped[TaskTarget] = mapped_column(enum_column(TaskTarget), nullable=False)
    task_type: Mapped[TaskType] = mapped_column(enum_column(TaskType), nullable=False)
    created_at: Mapped[datetime] = created_at()


class Label(Base):
    __tablename__ = "label"
    __table_args__ = (UniqueConstraint("labeling_task_id", "name"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    project_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("project.id", ondelete="CASCADE"), index=True)
    labeling_task_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("labeling_task.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    color: Mapped[str] = mapped_column(String(32), nullable=False, default="#4f46e5")
    hotkey: Mapped[str | None] = mapped_column(String(1))
    created_at: Mapped[datetime] = created_at()


class RecordLabelAssociation(Base):
    """One assigned label: by a person (MANUAL), a heuristic, weak supervision or a model callback.

    Spans (extraction) carry their token range ``[token_start, token_end)``.
    """

    __tablename__ = "record_label_association"
    __table_args__ = (
        Index("ix_rla_task_source", "labeling_task_id", "source_type", "source_id"),
        Index("ix_rla_record_task", "record_id", "labeling_task_id"),
        Index(
            "ix_rla_valid_manual",
            "labeling_task_id",
            "record_id",
            postgresql_where="is_valid_manual_label",
        ),
        CheckConstraint("token_start IS NULL OR (token_start >= 0 AND token_end > token_start)", name="span_range"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    # No foreign keys (migrations 0002 and 0004): per-row checks were most of the cost of storing heuristic results.
    # Statement triggers (0004) check set-wise that record, label and source exist and belong to the row's project and
    # task (locking them FOR KEY SHARE, as a foreign key does), and delete the rows of deleted records, labels and
    # sources (ON DELETE CASCADE); project and task deletions reach them through those.
    project_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    record_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    labeling_task_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    label_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False, index=True)
    source_type: Mapped[SourceType] = mapped_column(enum_column(SourceType), nullable=False)
    source_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    return_type: Mapped[ReturnType] = mapped_column(enum_column(ReturnType), nullable=False, default=ReturnType.RETURN)
    confidence: Mapped[float | None] = mapped_column(Float)
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), ForeignKey("app_user.id", ondelete="SET NULL"))
    is_gold_star: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    is_valid_manual_label: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    token_start: Mapped[int | None] = mapped_column(Integer)
    token_end: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = created_at()
