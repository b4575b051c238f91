"""Projects, their attributes, records and tokenized records."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, created_at, updated_at, uuid_pk
from .enums import AttributeState, AttributeVisibility, DataType, ProjectStatus, enum_column


class Project(Base):
    __tablename__ = "project"

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    tokenizer: Mapped[str] = mapped_column(String(100), nullable=False, default="en")
    status: Mapped[ProjectStatus] = mapped_column(enum_column(ProjectStatus), nullable=False, default=ProjectStatus.READY)
    settings: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict, server_default="{}")
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), ForeignKey("app_user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class Attribute(Base):
    __tablename__ = "attribute"
    __table_args__ = (UniqueConstraint("project_id", "name"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    project_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("project.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    data_type: Mapped[DataType] = mapped_column(enum_column(DataType), nullable=False)
    is_primary_key: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    relative_position: Mapped[int] = mapped_column(Integer, nullable=False)
    user_created: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    source_code: Mapped[str | None] = mapped_column(Text)
    state: Mapped[AttributeState] = mapped_column(enum_column(AttributeState), nullable=False, default=AttributeState.UPLOADED)
    visibility: Mapped[AttributeVisibility] = mapped_column(
        enum_column(AttributeVisibility), nullable=False, default=AttributeVisibility.DO_NOT_HIDE
    )
    logs: Mapped[list[str] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = created_at()


class Record(Base):
    """One uploaded row; ``data`` holds every attribute value by attribute name."""

    __tablename__ = "record"
    __table_args__ = (Index("ix_record_project_id_id", "project_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=False), primary_key=True)
    project_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("project.id", ondelete="CASCADE"))
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


class ProjectRecordCount(Base):
    """A project's number of records, kept current by statement triggers on ``record`` (migration 0011)."""

    __tablename__ = "project_record_count"

    project_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("project.id", ondelete="CASCADE"), primary_key=True
    )
    records: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")


class RecordTokenized(Base):
    """One spaCy DocBin per record holding a Doc per text attribute, in ``columns`` order."""

    __tablename__ = "record_tokenized"
    __table_args__ = (UniqueConstraint("record_id"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    # No foreign key on project_id (migration 0003): the record cascades from the project, and the redundant per-row
    # check was ~0.6 of Postgres's ~4.2 CPU-s per 100,000 DocBins a tokenize job stores.
    project_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    record_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("record.id", ondelete="CASCADE"))
    columns: Mapped[list[str]] = mapped_column(JSONB, nullable=False)
    bytes: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    tokenizer: Mapped[str] = mapped_column(String(100), nullable=False)
    created_at: Mapped[datetime] = created_at()


class AttributeValueChunk(Base):
    """One chunk of a version of a calculated attribute's values (migration 0021): parallel arrays of record ids and
    their values (``record_values``, a JSON array). A calculation writes its values under its own version (its job's id),
    each chunk in a short transaction of its own; :class:`AttributeValueCurrent` names the version readers see
    (``shared_model.attribute_values``)."""

    __tablename__ = "attribute_value_chunk"
    __table_args__ = (
        Index("ix_attribute_value_chunk_version", "attribute_id", "version_id", "first_record_id"),
        CheckConstraint("first_record_id <= last_record_id", name="record_range"),
        CheckConstraint("jsonb_array_length(record_values) = cardinality(record_ids)", name="values_match"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=False), primary_key=True)
    attribute_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("attribute.id", ondelete="CASCADE"), nullable=False
    )
    version_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    first_record_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    last_record_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    record_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger), nullable=False)
    record_values: Mapped[list[Any]] = mapped_column(JSONB, nullable=False)
    created_at: Mapped[datetime] = created_at()


class AttributeValueCurrent(Base):
    """The version of a calculated attribute's values that is current (migration 0021); switching it is one short
    transaction. ``materialized_through``: the last record id up to which ``record.data`` already holds this version's
    values (NULL: all of them)."""

    __tablename__ = "attribute_value_current"

    attribute_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("attribute.id", ondelete="CASCADE"), primary_key=True
    )
    version_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    materialized_through: Mapped[int | None] = mapped_column(BigInteger)
    switched_at: Mapped[datetime] = created_at()
