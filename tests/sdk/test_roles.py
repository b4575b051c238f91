"""The SDK's roles: the admin creates a user with a one-time password and makes them an annotator; the annotator's
read-only token reads but cannot write; roles of members change; a real gateway process over HTTP."""

from __future__ import annotations

import uuid
from typing import Any

import pytest


def test_users_members_and_read_only_tokens(platform: str, admin: Any, sdk_project: dict[str, Any]) -> None:
    from refinery import Client
    from refinery.exceptions import ConflictError, PermissionDeniedError

    email = f"ann-{uuid.uuid4().hex[:6]}@example.org"
    created = admin.create_user(email, "ANNOTATOR")
    assert created["password_change_required"] is True
    admin.add_member(email, "ANNOTATOR")
    assert {m["email"]: m["project_role"] for m in admin.get_members()}[email] == "ANNOTATOR"
    assert admin.get_permissions()["role"] == "OWNER"
    with Client(email, created["one_time_password"], uri=platform, progress=False) as annotator:
        with pytest.raises(PermissionDeniedError, match="one-time password"):
            annotator.list_projects()
        annotator.change_password(created["one_time_password"], "a-new-password")
        token = annotator.create_api_token("reader", read_only=True)["token"]
    with Client(api_token=token, uri=platform, project_id=sdk_project["id"], progress=False) as reader:
        assert reader.get_permissions()["role"] == "ANNOTATOR"
        with pytest.raises(PermissionDeniedError, match="read-only"):
            reader.create_api_token("another")
        with pytest.raises(PermissionDeniedError):
            reader.get_heuristics()  # an annotator sees no heuristics
    member = admin.set_member_role(email, "EXPERT")
    assert member["project_role"] == "EXPERT"
    with pytest.raises(ConflictError, match="last OWNER"):
        admin.set_member_role(admin.user["email"], "ENGINEER")
    admin.update_user(created["id"], is_active=False)
    assert not next(u for u in admin.list_users() if u["email"] == email)["is_active"]
