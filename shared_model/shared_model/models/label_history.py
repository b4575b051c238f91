"""Label history: every change of an annotator's manual labels on one (record, task), with who made it, when and how."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Identity, Index, String
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, created_at


class LabelHistory(Base):
    """One change of ``annotator_id``'s manual labels of a task on a record: ``old_labels`` → ``new_labels`` (lists of
    ``{"label_id", "name", "token_start", "token_end"}``), made by ``changed_by`` (the annotator, or an engineer
    reverting their labels) via ``via`` (UI, SDK, BULK, UPLOAD, SNAPSHOT, REVERT).

    ``record_id`` has no foreign key (as ``record_label_association``): a deleted record's history stays an audit
    trail (record ids are never reused), and so does a deleted task's (``labeling_task_id`` has none either: its
    ``TASK_DELETED`` entries say the labels went with the task); a project deletion removes its history.
    ``event`` says what changed: ``LABELS``, ``GOLD_STAR_SET`` / ``GOLD_STAR_WITHDRAWN`` (labels unchanged),
    ``LABEL_DELETED`` or ``TASK_DELETED``.
    """

    __tablename__ = "label_history"
    __table_args__ = (
        Index("ix_label_history_record", "record_id", "labeling_task_id"),
        Index("ix_label_history_project_annotator", "project_id", "annotator_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=False), primary_key=True)
    project_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("project.id", ondelete="CASCADE"), nullable=False
    )
    record_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    # no foreign key (as record_id): a deleted task's entries (TASK_DELETED) stay an audit trail
    labeling_task_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False, index=True)
    annotator_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), ForeignKey("app_user.id", ondelete="SET NULL"))
    changed_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), ForeignKey("app_user.id", ondelete="SET NULL"))
    via: Mapped[str] = mapped_column(String(20), nullable=False)
    # LABELS, GOLD_STAR_SET, GOLD_STAR_WITHDRAWN, LABEL_DELETED or TASK_DELETED (what the entry records)
    event: Mapped[str] = mapped_column(String(20), nullable=False, server_default="LABELS")
    old_labels: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False)
    new_labels: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False)
    created_at: Mapped[datetime] = created_at()
