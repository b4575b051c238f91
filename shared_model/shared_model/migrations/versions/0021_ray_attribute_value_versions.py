"""Calculated attribute values versioned per run: chunks tagged with their version, a pointer per attribute

An attribute calculation used to hold every value in memory and write them all in one transaction at the end (at a
million records, one transaction of tens of seconds). Now its values are written while it runs, as chunks of its own
version (``attribute_value_chunk``, each chunk a short transaction; nobody reads them); a finished calculation becomes
current by switching ``attribute_value_current`` (one short transaction); ``record.data`` is then brought to the
current version range by range (``materialized_through``). A calculation that fails or dies before the switch leaves
the previous values as they were; its chunks are garbage (``shared_model.attribute_values``).

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "attribute_value_chunk",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("attribute_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("version_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("first_record_id", sa.BigInteger(), nullable=False),
        sa.Column("last_record_id", sa.BigInteger(), nullable=False),
        sa.Column("record_ids", postgresql.ARRAY(sa.BigInteger()), nullable=False),
        sa.Column("record_values", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("first_record_id <= last_record_id", name=op.f("ck_attribute_value_chunk_record_range")),
        sa.CheckConstraint(
            "jsonb_array_length(record_values) = cardinality(record_ids)", name=op.f("ck_attribute_value_chunk_values_match")
        ),
        sa.ForeignKeyConstraint(
            ["attribute_id"], ["attribute.id"], name=op.f("fk_attribute_value_chunk_attribute_id_attribute"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attribute_value_chunk")),
    )
    op.create_index(
        "ix_attribute_value_chunk_version", "attribute_value_chunk", ["attribute_id", "version_id", "first_record_id"]
    )
    op.create_table(
        "attribute_value_current",
        sa.Column("attribute_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("version_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("materialized_through", sa.BigInteger(), nullable=True),
        sa.Column("switched_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["attribute_id"], ["attribute.id"], name=op.f("fk_attribute_value_current_attribute_id_attribute"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("attribute_id", name=op.f("pk_attribute_value_current")),
    )


def downgrade() -> None:
    op.drop_table("attribute_value_current")
    op.drop_index("ix_attribute_value_chunk_version", table_name="attribute_value_chunk")
    op.drop_table("attribute_value_chunk")
