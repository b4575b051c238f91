"""Labeling sessions (ordered record lists kept server-side) and the data browser's heuristic-vote read model."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    false,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from .base import Base, created_at, updated_at, uuid_pk


class LabelingSession(Base):
    """An ordered list of record ids to label (from a filter result, a slice or a heuristic's hits) and the place
    reached in it. Any project member can open it by id (a shareable link); only its creator moves or deletes it."""

    __tablename__ = "labeling_session"

    id: Mapped[uuid.UUID] = uuid_pk()
    project_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("project.id", ondelete="CASCADE"), index=True)
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("app_user.id", ondelete="SET NULL"), index=True
    )
    name: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    source: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict, server_default="{}")
    record_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger), nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class HeuristicVoteSummary(Base):
    """Read model: per (task, record) with at least one heuristic vote, how many heuristics voted, how many
    distinct labels they gave, and the votes. Rebuilt per task from ``heuristic_result`` when its fingerprint changed
    (:class:`HeuristicVoteSummaryState`), so "no heuristic voted" and "heuristics disagree" are index lookups."""

    __tablename__ = "heuristic_vote_summary"
    __table_args__ = (
        Index("ix_heuristic_vote_summary_disagree", "labeling_task_id", "record_id", postgresql_where=text("labels > 1")),
    )

    labeling_task_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("labeling_task.id", ondelete="CASCADE"), primary_key=True
    )
    record_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    heuristics: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    labels: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    # the votes as codes heuristic * 1024 + label (ordinals in the state's ``codes``): "heuristic X voted Y" is an
    # array overlap on the record's row
    votes: Mapped[list[int]] = mapped_column(ARRAY(Integer), nullable=False)


class HeuristicVoteSummaryState(Base):
    """The ``heuristic_result`` fingerprint (chunk count, last chunk id, sum of row versions) a task's summary was
    built from, and when."""

    __tablename__ = "heuristic_vote_summary_state"

    labeling_task_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("labeling_task.id", ondelete="CASCADE"), primary_key=True
    )
    fingerprint: Mapped[str] = mapped_column(String(200), nullable=False)
    codes: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict, server_default="{}")
    built_at: Mapped[datetime] = created_at()


class RecordTaskLabel(Base):
    """Read model: per (task, record) with a manual label, that it is manually labeled, its decided manual labels
    (sorted ``label:start:end`` texts) and whether they differ from the record's weak-supervision labels in the
    version ``ws_version``. Kept current by statement triggers on ``record_label_association`` (migration 0018; the
    weak-supervision labels moved to :class:`WeakSupervisionResult` in 0023, and ``differ`` is recomputed for a
    task's rows once its current version is not the one :class:`WeakSupervisionDifferState` names)."""

    __tablename__ = "record_task_label"
    __table_args__ = (
        Index("ix_record_task_label_record", "record_id"),
        Index("ix_record_task_label_project", "project_id", "record_id"),
        Index("ix_record_task_label_differ", "labeling_task_id", "record_id", postgresql_where=text("differ")),
        Index("ix_record_task_label_ws_version", "labeling_task_id", "ws_version"),  # stale differ flags (0025)
        # the counts of manually labeled records (migration 0022): progress per task, GET /projects per project
        Index("ix_record_task_label_decided", "labeling_task_id", "record_id", postgresql_where=text("decided IS NOT NULL")),
        Index("ix_record_task_label_manual", "project_id", "record_id", postgresql_where=text("manual")),
    )

    labeling_task_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("labeling_task.id", ondelete="CASCADE"), primary_key=True
    )
    record_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("record.id", ondelete="CASCADE"), primary_key=True)
    project_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("project.id", ondelete="CASCADE"))
    manual: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=false())
    decided: Mapped[list[str] | None] = mapped_column(ARRAY(Text))
    differ: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=false())
    ws_version: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))


class WeakSupervisionDifferState(Base):
    """The weak-supervision version a task's ``record_task_label.differ`` flags were last recomputed against as a
    whole (migration 0023): the browser recomputes them once after a new run became current."""

    __tablename__ = "weak_supervision_differ_state"

    labeling_task_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("labeling_task.id", ondelete="CASCADE"), primary_key=True
    )
    version_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)


class WeakSupervisionVersion(Base):
    """One version of a task's weak-supervision labels (migration 0023): a run's (its id), a snapshot import's, or
    the one writers without a run of their own write into. Deleting it removes its rows (a statement trigger)."""

    __tablename__ = "weak_supervision_version"
    __table_args__ = (
        Index("ix_weak_supervision_version_task", "labeling_task_id"),
        Index("ix_weak_supervision_version_project", "project_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    labeling_task_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("labeling_task.id", ondelete="CASCADE"), nullable=False
    )
    project_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("project.id", ondelete="CASCADE"), nullable=False
    )
    created_at: Mapped[datetime] = created_at()


class WeakSupervisionCurrent(Base):
    """The version of a task's weak-supervision labels that readers see (migration 0023): switching this one row
    makes a run's labels current in one short transaction."""

    __tablename__ = "weak_supervision_current"

    labeling_task_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("labeling_task.id", ondelete="CASCADE"), primary_key=True
    )
    version_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    switched_at: Mapped[datetime] = created_at()


class WeakSupervisionResult(Base):
    """A record's weak-supervision labels in one version (migration 0023): parallel arrays of labels, confidences
    and (extraction) token spans, their ``label:start:end`` signatures and the highest confidence. Readers read the
    views :class:`WeakSupervisionLabel` / :class:`WeakSupervisionAssociation` (current versions only)."""

    __tablename__ = "weak_supervision_result"
    __table_args__ = (
        Index("ix_weak_supervision_result_confidence", "version_id", "confidence"),
        CheckConstraint("cardinality(confidences) = cardinality(label_ids)", name="confidences_match"),
        CheckConstraint(
            "(token_starts IS NULL AND token_ends IS NULL) OR (cardinality(token_starts) = cardinality(label_ids)"
            " AND cardinality(token_ends) = cardinality(label_ids))",
            name="spans_match",
        ),
    )

    version_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    record_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    labeling_task_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    project_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    label_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(UUID(as_uuid=True)), nullable=False)
    confidences: Mapped[list[float | None]] = mapped_column(ARRAY(Float), nullable=False)
    token_starts: Mapped[list[int] | None] = mapped_column(ARRAY(Integer))
    token_ends: Mapped[list[int] | None] = mapped_column(ARRAY(Integer))
    weak: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False)
    confidence: Mapped[float | None] = mapped_column(Float)


class WeakSupervisionCount(Base):
    """Counts of a weak-supervision version's rows (migration 0024), a log of signed deltas that statement triggers
    on ``weak_supervision_result`` append on every write: sum a version's rows per key. Label rows (``label_id``
    set): ``labels`` (its entries in ``label_ids``) and ``signatures`` (its entries in ``weak``); confidence rows
    (``label_id`` NULL): ``records`` (rows whose highest confidence has the key ``confidence``) and ``labels`` (label
    entries whose confidence has it); the key is the value itself near a multiple of 0.01, outside (0, 1) or NULL,
    otherwise the middle of its hundredth."""

    __tablename__ = "weak_supervision_count"
    __table_args__ = (Index("ix_weak_supervision_count_version", "version_id"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=False), primary_key=True)
    version_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    label_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    confidence: Mapped[float | None] = mapped_column(Float)
    records: Mapped[int] = mapped_column(BigInteger, nullable=False)
    labels: Mapped[int] = mapped_column(BigInteger, nullable=False)
    signatures: Mapped[int] = mapped_column(BigInteger, nullable=False)


class RecordTaskLabelMark(Base):
    """A task's mark (migration 0024), bumped by statement triggers on every change to its ``record_task_label``
    rows: figures computed from them are kept (:class:`MetricCache`) with the mark they were computed at."""

    __tablename__ = "record_task_label_mark"

    labeling_task_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("labeling_task.id", ondelete="CASCADE"), primary_key=True
    )
    mark: Mapped[int] = mapped_column(BigInteger, nullable=False)


class MetricCache(Base):
    """A whole project's metric of one task as last computed (migration 0024), with the marks of what it was computed
    from (``marks``: the task's :class:`RecordTaskLabelMark`, its weak-supervision version and that version's last
    count row): read only while they are the current marks."""

    __tablename__ = "metric_cache"

    labeling_task_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("labeling_task.id", ondelete="CASCADE"), primary_key=True
    )
    metric: Mapped[str] = mapped_column(Text, primary_key=True)
    marks: Mapped[str] = mapped_column(Text, nullable=False)
    value: Mapped[Any] = mapped_column(JSONB, nullable=False)


class _WeakViews(DeclarativeBase):
    """Views mapped for reading (not in ``Base.metadata``: migration 0023 creates them)."""

    metadata = MetaData()


class WeakSupervisionLabel(_WeakViews):
    """The current version's rows of each task (the view ``weak_supervision_label``): one per record with
    weak-supervision labels, columns as :class:`WeakSupervisionResult`."""

    __tablename__ = "weak_supervision_label"

    version_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    record_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    labeling_task_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    project_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    label_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(UUID(as_uuid=True)))
    confidences: Mapped[list[float | None]] = mapped_column(ARRAY(Float))
    token_starts: Mapped[list[int] | None] = mapped_column(ARRAY(Integer))
    token_ends: Mapped[list[int] | None] = mapped_column(ARRAY(Integer))
    weak: Mapped[list[str]] = mapped_column(ARRAY(Text))
    confidence: Mapped[float | None] = mapped_column(Float)


class WeakSupervisionAssociation(_WeakViews):
    """The current weak-supervision labels one row per label (the view ``weak_supervision_association``), with the
    columns of the association rows they used to be (``position``: the label's place in its record's arrays)."""

    __tablename__ = "weak_supervision_association"

    project_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    labeling_task_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    record_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    label_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    confidence: Mapped[float | None] = mapped_column(Float)
    token_start: Mapped[int | None] = mapped_column(Integer)
    token_end: Mapped[int | None] = mapped_column(Integer)
    version_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    position: Mapped[int] = mapped_column(BigInteger, primary_key=True)
