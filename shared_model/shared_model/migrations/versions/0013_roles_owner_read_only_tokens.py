"""Roles: project OWNER, read-only API tokens, one-time passwords and invitations

- ``project_member.role`` may be ``OWNER`` (a VARCHAR-backed enum: no type to alter). The creator of a project
  becomes its OWNER: existing members who created their project (``project.created_by``) are made OWNER here; a
  project whose creator is gone keeps its members' roles (an installation admin acts as OWNER of every project);
- ``api_token.read_only``: such a token may only GET/HEAD;
- ``app_user.password_change_required``: set with a one-time password by an admin, cleared by a password change;
- ``app_user.invitation_hash`` / ``invitation_expires_at``: the SHA-256 of an invitation link's secret.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("api_token", sa.Column("read_only", sa.Boolean(), server_default=sa.text("false"), nullable=False))
    op.add_column(
        "app_user", sa.Column("password_change_required", sa.Boolean(), server_default=sa.text("false"), nullable=False)
    )
    op.add_column("app_user", sa.Column("invitation_hash", sa.String(length=64), nullable=True))
    op.add_column("app_user", sa.Column("invitation_expires_at", sa.DateTime(timezone=True), nullable=True))
    op.create_unique_constraint(op.f("uq_app_user_invitation_hash"), "app_user", ["invitation_hash"])
    op.execute(
        "UPDATE project_member SET role = 'OWNER' FROM project"
        " WHERE project.id = project_member.project_id AND project.created_by = project_member.user_id"
    )


def downgrade() -> None:
    op.execute("UPDATE project_member SET role = 'ENGINEER' WHERE role = 'OWNER'")
    op.drop_constraint(op.f("uq_app_user_invitation_hash"), "app_user", type_="unique")
    op.drop_column("app_user", "invitation_expires_at")
    op.drop_column("app_user", "invitation_hash")
    op.drop_column("app_user", "password_change_required")
    op.drop_column("api_token", "read_only")
