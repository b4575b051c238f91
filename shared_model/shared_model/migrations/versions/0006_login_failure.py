"""login_failure: failed logins, counted per account and per client address by the gateway's login throttle

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_failure",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("account", sa.String(length=320), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failure")),
    )
    op.create_index(op.f("ix_login_failure_account"), "login_failure", ["account"])
    op.create_index(op.f("ix_login_failure_address"), "login_failure", ["address"])
    op.create_index(op.f("ix_login_failure_created_at"), "login_failure", ["created_at"])


def downgrade() -> None:
    op.drop_table("login_failure")
