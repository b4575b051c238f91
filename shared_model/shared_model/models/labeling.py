"""Labeling tasks, labels, record-label associations (manual and weak-supervision labels) and heuristic results."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

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
    """One assigned label: by a person (MANUAL), weak supervision or a model callback.

    Spans (extraction) carry their token range ``[token_start, token_end)``. Heuristics' votes are not stored here
    but in :class:`HeuristicResult` (migration 0005; a check refuses ``INFORMATION_SOURCE`` rows).
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
        Index(  # the data browser's sort by weak-supervision confidence reads the task's labels in order (0011)
            "ix_rla_ws_confidence",
            "labeling_task_id",
            "confidence",
            "record_id",
            postgresql_where="source_type = 'WEAK_SUPERVISION'",
        ),
        CheckConstraint("token_start IS NULL OR (token_start >= 0 AND token_end > token_start)", name="span_range"),
        CheckConstraint("source_type <> 'INFORMATION_SOURCE'", name="no_heuristic_rows"),
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


class HeuristicResultChunk(Base):
    """One chunk of a version of a heuristic's votes: the records (and spans) it labels with one label, as parallel arrays.

    A run's results are a few chunks instead of one indexed row per vote (storing 136,000 votes as rows cost Postgres
    ~2.5 CPU-s; as chunks, milliseconds). ``token_starts``/``token_ends`` are set for extraction (span ``[start,
    end)`` of the record at the same position), ``confidences`` where a vote's confidence is not 1.0 (active
    learners, zero-shot, pre-computed results). The view ``heuristic_association`` shows one row per vote. Statement
    triggers (0005) check that every record exists in the chunk's project and that label, heuristic and task belong
    together, and remove deleted records from the arrays.

    Chunks are versioned (migration 0011): ``version_id`` names the version (a heuristic run's id for the runs of the
    executor); :class:`HeuristicResultCurrent` names each heuristic's current version, and only its chunks are in
    the view ``heuristic_result`` (:class:`HeuristicResult`), which every reader reads.
    """

    __tablename__ = "heuristic_result_chunk"
    __table_args__ = (
        Index("ix_heuristic_result_task_source", "labeling_task_id", "source_id"),
        Index("ix_heuristic_result_chunk_version", "source_id", "version_id"),
        Index("ix_heuristic_result_label_id", "label_id"),
        Index("ix_heuristic_result_record_range", "project_id", "first_record_id", "last_record_id"),
        CheckConstraint("first_record_id <= last_record_id", name="record_range"),
        CheckConstraint("cardinality(record_ids) > 0", name="not_empty"),
        CheckConstraint(
            "(token_starts IS NULL AND token_ends IS NULL) OR (cardinality(token_starts) = cardinality(record_ids)"
            " AND cardinality(token_ends) = cardinality(record_ids))",
            name="spans_match",
        ),
        CheckConstraint("confidences IS NULL OR cardinality(confidences) = cardinality(record_ids)", name="confidences_match"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    # indexed by ix_heuristic_result_record_range (project first)
    project_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("project.id", ondelete="CASCADE"))
    labeling_task_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("labeling_task.id", ondelete="CASCADE"), nullable=False
    )
    source_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("information_source.id", ondelete="CASCADE"), nullable=False
    )
    label_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("label.id", ondelete="CASCADE"), nullable=False)
    record_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger), nullable=False)
    # The smallest and largest record id of the chunk (checked): a record's votes are found without reading every chunk.
    first_record_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    last_record_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    token_starts: Mapped[list[int] | None] = mapped_column(ARRAY(Integer))
    token_ends: Mapped[list[int] | None] = mapped_column(ARRAY(Integer))
    confidences: Mapped[list[float] | None] = mapped_column(ARRAY(Float))
    created_at: Mapped[datetime] = created_at()
    version_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)


class HeuristicResultCurrent(Base):
    """The version of a heuristic's votes that readers see (migration 0011); switching it makes a run's results
    current in one short transaction."""

    __tablename__ = "heuristic_result_current"

    source_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("information_source.id", ondelete="CASCADE"), primary_key=True
    )
    version_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    switched_at: Mapped[datetime] = created_at()


class _Views(DeclarativeBase):
    """Views mapped for reading (not in ``Base.metadata``: the migrations create them, schema comparisons skip them)."""

    metadata = MetaData()


class HeuristicResult(_Views):
    """The chunks of each heuristic's CURRENT version of votes: the view ``heuristic_result`` (migration 0011), with
    the columns of :class:`HeuristicResultChunk`. Every reader of votes reads it; INSERT and DELETE on it write the
    current version (in the caller's transaction)."""

    __tablename__ = "heuristic_result"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    project_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    labeling_task_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    source_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    label_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    record_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger))
    first_record_id: Mapped[int] = mapped_column(BigInteger)
    last_record_id: Mapped[int] = mapped_column(BigInteger)
    token_starts: Mapped[list[int] | None] = mapped_column(ARRAY(Integer))
    token_ends: Mapped[list[int] | None] = mapped_column(ARRAY(Integer))
    confidences: Mapped[list[float] | None] = mapped_column(ARRAY(Float))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    version_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
