"""Work for annotators: an engineer assigns records (a static slice, a labeling session or a list of ids) to
annotators, each record to ``redundancy`` of them; an annotator's queue is their items of the assignments."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, created_at, uuid_pk


class WorkAssignment(Base):
    """One piece of work: its records (kept per annotator in ``work_assignment_item``), how many annotators label each
    record, and whether the bias guard hides other members' labels and heuristic votes from its annotators."""

    __tablename__ = "work_assignment"

    id: Mapped[uuid.UUID] = uuid_pk()
    project_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("project.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    source: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict, server_default="{}")
    labeling_task_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("labeling_task.id", ondelete="SET NULL")
    )
    redundancy: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    bias_guard: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True, server_default="true")
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), ForeignKey("app_user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = created_at()


class WorkAssignmentAnnotator(Base):
    """An annotator of an assignment: how many records are due and their comment to the engineer."""

    __tablename__ = "work_assignment_annotator"

    assignment_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("work_assignment.id", ondelete="CASCADE"), primary_key=True
    )
    annotator_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    due_count: Mapped[int] = mapped_column(Integer, nullable=False)
    comment: Mapped[str | None] = mapped_column(Text)
    commented_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class WorkAssignmentItem(Base):
    """One record of an annotator's queue in an assignment (``position`` orders the queue)."""

    __tablename__ = "work_assignment_item"
    __table_args__ = (Index("ix_work_assignment_item_scope", "project_id", "annotator_id", "record_id"),)

    assignment_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("work_assignment.id", ondelete="CASCADE"), primary_key=True
    )
    annotator_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True
    )
    record_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("record.id", ondelete="CASCADE"), primary_key=True)
    project_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("project.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    skipped: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default="false")
