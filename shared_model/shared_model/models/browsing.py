"""Labeling sessions (ordered record lists kept server-side) and the data browser's heuristic-vote read model."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Index, Integer, SmallInteger, String, Text, false, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

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
    """Read model: per (task, record) with a label, whether it is manually labeled, its decided manual labels and its
    weak-supervision labels (sorted ``label:start:end`` texts), the highest weak-supervision confidence and whether
    the two differ. Kept current by statement triggers on ``record_label_association`` (migration 0018)."""

    __tablename__ = "record_task_label"
    __table_args__ = (
        Index("ix_record_task_label_record", "record_id"),
        Index("ix_record_task_label_project", "project_id", "record_id"),
        Index("ix_record_task_label_differ", "labeling_task_id", "record_id", postgresql_where=text("differ")),
    )

    labeling_task_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("labeling_task.id", ondelete="CASCADE"), primary_key=True
    )
    record_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("record.id", ondelete="CASCADE"), primary_key=True)
    project_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("project.id", ondelete="CASCADE"))
    manual: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=false())
    decided: Mapped[list[str] | None] = mapped_column(ARRAY(Text))
    weak: Mapped[list[str] | None] = mapped_column(ARRAY(Text))
    ws_confidence: Mapped[float | None] = mapped_column(Float)
    differ: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=false())
