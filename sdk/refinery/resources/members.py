"""Who may do what: a project's members and their roles, your permissions, and (for the installation's admin) users.

Roles (docs/roles.md): OWNER (everything, members, deleting), ENGINEER (everything but members and deleting),
EXPERT (labels, gold stars, reads heuristics and the data browser; runs no code), ANNOTATOR (reads and labels records).
"""

from __future__ import annotations

from typing import Any

from ..exceptions import NotFoundError
from .base import ClientBase


class MembersMixin(ClientBase):
    # --- the project's members -------------------------------------------------------------------------------

    def get_members(self) -> list[dict[str, Any]]:
        """The current project's members, each with ``project_role``."""
        return self._request("GET", self._p("/members"))

    def add_member(self, email: str, role: str = "ENGINEER") -> dict[str, Any]:
        """Add an existing user to the current project as OWNER, ENGINEER, EXPERT or ANNOTATOR (OWNER only)."""
        return self._request("POST", self._p("/members"), json={"email": email, "role": role})

    def set_member_role(self, email_or_id: str, role: str) -> dict[str, Any]:
        """Change a member's role (OWNER only; the last OWNER cannot be demoted)."""
        return self._request("PATCH", self._p(f"/members/{self._member_id(email_or_id)}"), json={"role": role})

    def remove_member(self, email_or_id: str) -> None:
        """Remove a member from the current project (OWNER only; not the last OWNER)."""
        self._request("DELETE", self._p(f"/members/{self._member_id(email_or_id)}"))

    def get_permissions(self) -> dict[str, Any]:
        """Your ``role`` in the current project and the ``actions`` it allows (e.g. ``RUN_CODE``, ``EXPORT``)."""
        return self._request("GET", self._p("/permissions"))

    def _member_id(self, email_or_id: str) -> str:
        for member in self.get_members():
            if email_or_id in (member["id"], member["email"]):
                return str(member["id"])
        raise NotFoundError(f"{email_or_id!r} is not a member of this project", status=404)

    # --- users (the installation's admin only) -------------------------------------------------------------------

    def list_users(self) -> list[dict[str, Any]]:
        """Every user of the installation."""
        return self._request("GET", "/users")

    def create_user(
        self, email: str, role: str = "ENGINEER", *, password: str | None = None, invite: bool = False, display_name: str = ""
    ) -> dict[str, Any]:
        """Create a user: with ``password``, or a generated ``one_time_password`` in the answer (to be changed at the
        first login), or with ``invite`` an ``invitation_token`` / ``invitation_url`` (valid 7 days)."""
        body: dict[str, Any] = {"email": email, "role": role, "invite": invite, "display_name": display_name}
        if password is not None:
            body["password"] = password
        return self._request("POST", "/users", json=body)

    def update_user(
        self, user_id: str, *, role: str | None = None, display_name: str | None = None, is_active: bool | None = None
    ) -> dict[str, Any]:
        """Change a user's installation role or name, or (de)activate them (``is_active=False``)."""
        body = {k: v for k, v in {"role": role, "display_name": display_name, "is_active": is_active}.items() if v is not None}
        return self._request("PATCH", f"/users/{user_id}", json=body)

    def reset_password(self, user_id: str) -> str:
        """Give a user a new one-time password (returned; they must change it at their next login)."""
        answer: dict[str, Any] = self._request("POST", f"/users/{user_id}/password-reset")
        return str(answer["one_time_password"])

    def change_password(self, current_password: str, new_password: str) -> dict[str, Any]:
        """Change your own password (also the way out of a one-time password)."""
        return self._request("POST", "/auth/password", json={"current_password": current_password, "new_password": new_password})
